//! The Hudu simulator (being written).
