//! Action index: which rules or caps of one layer name an action, without scanning them all.

use std::collections::HashMap;

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

use super::document::ActionPattern;

/// The glob of an action pattern: `*` matches any run of characters, dots included.
pub(crate) fn action_glob(pattern: &str) -> Glob {
    GlobBuilder::new(pattern)
        .literal_separator(false)
        .build()
        .expect("action patterns are checked to hold only [a-z0-9_.*]")
}

/// Maps an action id to the items (rules or caps, by position) whose patterns match it.
///
/// Exact ids are one hash lookup; all glob patterns of the layer are compiled into one
/// [`GlobSet`], which matches them together.
#[derive(Debug, Default)]
pub(crate) struct ActionIndex {
    exact: HashMap<String, Vec<u32>>,
    globs: GlobSet,
    /// The item each glob of `globs` belongs to, by glob position.
    glob_items: Vec<u32>,
}

/// Collects patterns for an [`ActionIndex`].
#[derive(Debug)]
pub(crate) struct ActionIndexBuilder {
    exact: HashMap<String, Vec<u32>>,
    globs: GlobSetBuilder,
    glob_items: Vec<u32>,
}

impl Default for ActionIndexBuilder {
    fn default() -> Self {
        Self {
            exact: HashMap::new(),
            globs: GlobSetBuilder::new(),
            glob_items: Vec::new(),
        }
    }
}

impl ActionIndexBuilder {
    /// Register `item` under each of its patterns. Patterns were checked when parsed.
    pub(crate) fn add(&mut self, item: u32, patterns: &[ActionPattern]) {
        for pattern in patterns {
            match pattern {
                ActionPattern::Exact(id) => self.exact.entry(id.clone()).or_default().push(item),
                ActionPattern::Glob(glob) => {
                    self.globs.add(action_glob(glob));
                    self.glob_items.push(item);
                }
            }
        }
    }

    pub(crate) fn build(self) -> ActionIndex {
        ActionIndex {
            exact: self.exact,
            globs: self
                .globs
                .build()
                .expect("globs of [a-z0-9_.*] always compile"),
            glob_items: self.glob_items,
        }
    }
}

impl ActionIndex {
    /// Replace `out` with the items matching `action`, ascending (document order), each once.
    pub(crate) fn matching(&self, action: &str, out: &mut Vec<u32>, scratch: &mut Vec<usize>) {
        out.clear();
        if let Some(items) = self.exact.get(action) {
            out.extend_from_slice(items);
        }
        if !self.globs.is_empty() {
            self.globs.matches_into(action, scratch);
            out.extend(scratch.iter().map(|&g| self.glob_items[g]));
        }
        out.sort_unstable();
        out.dedup();
    }
}
