//! Layered TOML policy (being written).
#![allow(missing_docs)]
pub struct LayeredPolicy;
pub struct PolicyDocument;
pub struct PolicyError;
pub struct PolicyLoader;
pub struct Scope;
