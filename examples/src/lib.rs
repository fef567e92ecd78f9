//! Examples live beside this crate; see `embed_core.rs`.
