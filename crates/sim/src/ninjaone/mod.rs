//! The NinjaOne simulator (being written).
