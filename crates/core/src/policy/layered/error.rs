//! Load errors, and how they find the line and field they are about.

use std::fmt;
use std::path::PathBuf;

use toml::de::DeTable;

/// Why a policy could not be loaded.
///
/// Every document error names where it is: the file (or the name given to
/// [`PolicyLoader::add_str`](super::PolicyLoader::add_str)), the 1-based line and the field path,
/// e.g. `policies/acme.toml:14: rules[2].effect: unknown variant "alow", expected one of
/// "allow", "approve", "deny"`. Array indices in field paths count from 0.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A policy file or directory could not be read.
    #[error("{}: cannot read policy: {source}", path.display())]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
    /// A document is malformed or breaks a rule of the policy format.
    #[error("{origin}:{line}: {}{message}", field.as_deref().map(|f| format!("{f}: ")).unwrap_or_default())]
    Document {
        /// The file path or the name the text was added under.
        origin: String,
        /// The 1-based line the problem is on.
        line: usize,
        /// The field path (`rules[2].effect`), when the problem is in one field.
        field: Option<String>,
        /// What is wrong.
        message: String,
    },
}

impl PolicyError {
    /// The file or name of the document at fault (the path, for read errors).
    pub fn origin(&self) -> String {
        match self {
            PolicyError::Read { path, .. } => path.display().to_string(),
            PolicyError::Document { origin, .. } => origin.clone(),
        }
    }

    /// The 1-based line of a document error.
    pub fn line(&self) -> Option<usize> {
        match self {
            PolicyError::Read { .. } => None,
            PolicyError::Document { line, .. } => Some(*line),
        }
    }

    /// The field path of a document error, e.g. `rules[2].effect`.
    pub fn field(&self) -> Option<&str> {
        match self {
            PolicyError::Read { .. } => None,
            PolicyError::Document { field, .. } => field.as_deref(),
        }
    }
}

impl From<PolicyError> for crate::Error {
    fn from(err: PolicyError) -> Self {
        crate::Error::invalid(err.to_string())
    }
}

/// One step of a field path: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// A field path inside a document, e.g. `rules[2].actions[0]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldPath(Vec<Seg>);

impl FieldPath {
    pub(crate) fn root() -> Self {
        Self::default()
    }

    /// This path with a key appended.
    pub(crate) fn key(&self, key: &str) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Key(key.to_string()));
        Self(segs)
    }

    /// This path with an array index appended.
    pub(crate) fn index(&self, index: usize) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Index(index));
        Self(segs)
    }

    /// A path as figment reports it: keys, with array indices as decimal strings.
    pub(crate) fn from_figment(path: &[String]) -> Self {
        Self(
            path.iter()
                .map(|seg| match seg.parse::<usize>() {
                    Ok(i) => Seg::Index(i),
                    Err(_) => Seg::Key(seg.clone()),
                })
                .collect(),
        )
    }

    fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => f.write_str(k)?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// A document's text with its spanned syntax tree, for turning field paths into line numbers.
pub(crate) struct SourceMap<'a> {
    origin: &'a str,
    text: &'a str,
    tree: &'a DeTable<'a>,
}

impl<'a> SourceMap<'a> {
    pub(crate) fn new(origin: &'a str, text: &'a str, tree: &'a DeTable<'a>) -> Self {
        Self { origin, text, tree }
    }

    /// An error about `path`, located at the deepest part of the path the document contains
    /// (the key itself, or the table that lacks it).
    pub(crate) fn error(&self, path: &FieldPath, message: impl Into<String>) -> PolicyError {
        PolicyError::Document {
            origin: self.origin.to_string(),
            line: self.line_of(path),
            field: (!path.is_root()).then(|| path.to_string()),
            message: message.into(),
        }
    }

    /// The 1-based line where `path` is written, or where the deepest existing part of it is.
    pub(crate) fn line_of(&self, path: &FieldPath) -> usize {
        line_at(self.text, self.offset_of(path))
    }

    fn offset_of(&self, path: &FieldPath) -> usize {
        let mut offset = 0;
        let mut table = Some(self.tree);
        let mut array: Option<&toml::de::DeArray<'_>> = None;
        for seg in &path.0 {
            let next = match (seg, table, array) {
                (Seg::Key(key), Some(t), _) => t
                    .iter()
                    .find(|(k, _)| k.get_ref().as_ref() == key.as_str())
                    // The key is where the field is named: its line is the one to show.
                    .map(|(k, v)| (k.span().start, v.get_ref())),
                (Seg::Index(i), _, Some(a)) => a.get(*i).map(|v| (v.span().start, v.get_ref())),
                _ => None,
            };
            let Some((start, value)) = next else { break };
            offset = start;
            table = value.as_table();
            array = value.as_array();
        }
        offset
    }
}

/// The 1-based line holding byte `offset` of `text`.
pub(crate) fn line_at(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A document-level error with no syntax tree (broken TOML).
pub(crate) fn syntax_error(origin: &str, text: &str, err: &toml::de::Error) -> PolicyError {
    let line = err.span().map(|s| line_at(text, s.start)).unwrap_or(1);
    PolicyError::Document {
        origin: origin.to_string(),
        line,
        field: None,
        message: format!("invalid TOML: {}", err.message().trim_end()),
    }
}
