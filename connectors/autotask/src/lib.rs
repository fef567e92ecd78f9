//! stackhand-autotask (being written).
