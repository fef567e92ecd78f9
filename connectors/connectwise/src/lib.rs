//! stackhand-connectwise (being written).
