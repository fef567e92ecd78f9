//! stackhand-m365 (being written).
