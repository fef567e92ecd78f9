//! Simulated m365 API (being written).
