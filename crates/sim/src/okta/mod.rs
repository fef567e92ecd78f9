//! Simulated okta API (being written).
