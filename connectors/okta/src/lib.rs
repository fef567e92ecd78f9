//! stackhand-okta (being written).
