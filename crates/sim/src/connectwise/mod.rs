//! Simulated connectwise API (being written).
