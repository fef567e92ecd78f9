//! Simulated autotask API (being written).
