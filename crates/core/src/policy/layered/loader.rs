//! Loading documents from files, directories and strings.

use std::path::{Path, PathBuf};

use super::{LayeredPolicy, PolicyDocument, PolicyError};
use crate::policy::Vocabulary;

/// What a path must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    File,
    Dir,
    Either,
}

#[derive(Debug)]
enum Source {
    Path(PathBuf, Expect),
    Text { origin: String, text: String },
    Document(PolicyDocument),
}

/// Collects policy documents, then checks and indexes them with [`build`](Self::build).
///
/// Sources are read at `build`, in the order added; a directory contributes every `*.toml`
/// file directly in it, sorted by name. The order matters only for ties (document order).
///
/// Every name the documents use is checked against a [`Vocabulary`]: by default
/// [`Vocabulary::builtin`], which knows the built-in action ids and checks nothing else. Give
/// the vocabulary of the deployment with [`vocabulary`](Self::vocabulary): the vendor action
/// ids of its connectors, and its tenants, tenant groups, departments and roles.
///
/// ```
/// use stackhand_core::policy::PolicyLoader;
///
/// let policy = PolicyLoader::new()
///     .add_str("global.toml", r#"
///         [scope]
///         global = true
///
///         [[rules]]
///         id = "notes"
///         actions = ["psa.add_note"]
///         effect = "allow"
///     "#)
///     .build()
///     .unwrap();
/// assert_eq!(policy.rule_count(), 1);
///
/// let err = PolicyLoader::new()
///     .add_str("bad.toml", "[scope]\nglobal = true\n[[rules]]\nid = \"x\"\nactions = [\"psa.add_note\"]\neffect = \"alow\"\n")
///     .build()
///     .unwrap_err();
/// assert!(err.to_string().starts_with("bad.toml:6: rules[0].effect: unknown variant \"alow\""), "{err}");
/// ```
#[derive(Debug, Default)]
#[must_use]
pub struct PolicyLoader {
    sources: Vec<Source>,
    vocabulary: Vocabulary,
}

impl PolicyLoader {
    /// An empty loader. Building it gives a policy that denies everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// Check the documents' names against this vocabulary instead of [`Vocabulary::builtin`].
    pub fn vocabulary(mut self, vocabulary: Vocabulary) -> Self {
        self.vocabulary = vocabulary;
        self
    }

    /// Add a policy file.
    pub fn add_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.sources.push(Source::Path(path.into(), Expect::File));
        self
    }

    /// Add every `*.toml` file directly in a directory, sorted by name.
    pub fn add_dir(mut self, path: impl Into<PathBuf>) -> Self {
        self.sources.push(Source::Path(path.into(), Expect::Dir));
        self
    }

    /// Add a file, or every `*.toml` file of a directory; which one is decided when building.
    pub fn add_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.sources.push(Source::Path(path.into(), Expect::Either));
        self
    }

    /// Add a document from text; `origin` names it in errors.
    pub fn add_str(mut self, origin: impl Into<String>, text: impl Into<String>) -> Self {
        self.sources.push(Source::Text {
            origin: origin.into(),
            text: text.into(),
        });
        self
    }

    /// Add an already parsed document.
    pub fn add_document(mut self, document: PolicyDocument) -> Self {
        self.sources.push(Source::Document(document));
        self
    }

    /// Read, parse and check every document, check the names they use against the vocabulary,
    /// then index them into one policy.
    ///
    /// Fails on the first document error, naming file, line and field (and, for an unknown
    /// name, the nearest known one).
    pub fn build(self) -> Result<LayeredPolicy, PolicyError> {
        let Self {
            sources,
            vocabulary,
        } = self;
        let mut documents = Vec::new();
        for source in sources {
            match source {
                Source::Path(path, expect) => read_path(&path, expect, &mut documents)?,
                Source::Text { origin, text } => {
                    documents.push(PolicyDocument::parse(origin, &text)?);
                }
                Source::Document(document) => documents.push(document),
            }
        }
        LayeredPolicy::from_documents(documents, &vocabulary)
    }
}

fn read_error(path: &Path) -> impl FnOnce(std::io::Error) -> PolicyError + '_ {
    move |source| PolicyError::Read {
        path: path.to_path_buf(),
        source,
    }
}

fn read_path(
    path: &Path,
    expect: Expect,
    documents: &mut Vec<PolicyDocument>,
) -> Result<(), PolicyError> {
    let metadata = std::fs::metadata(path).map_err(read_error(path))?;
    let wrong_kind = match expect {
        Expect::File if metadata.is_dir() => Some("is a directory, not a policy file"),
        Expect::Dir if !metadata.is_dir() => Some("is not a directory"),
        _ => None,
    };
    if let Some(problem) = wrong_kind {
        return Err(read_error(path)(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            problem,
        )));
    }
    if !metadata.is_dir() {
        let text = std::fs::read_to_string(path).map_err(read_error(path))?;
        documents.push(PolicyDocument::parse(path.display().to_string(), &text)?);
        return Ok(());
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).map_err(read_error(path))? {
        let file = entry.map_err(read_error(path))?.path();
        if file.extension().is_some_and(|e| e == "toml") && file.is_file() {
            files.push(file);
        }
    }
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(read_error(&file))?;
        documents.push(PolicyDocument::parse(file.display().to_string(), &text)?);
    }
    Ok(())
}
