//! Hudu's own actions and [`specs`] listing them for the factory's description.
//!
//! There are none yet: the built-in `docs.*` actions (`docs.upsert_user_asset`,
//! `docs.store_password`, `docs.archive_asset`, `docs.create_article`) cover what the connector
//! offers through [`Documentation`](stackhand_core::Documentation) and
//! [`DocumentationWrites`](stackhand_core::DocumentationWrites).

use stackhand_core::ActionSpec;

/// Every vendor action a Hudu connector offers, as
/// [`ConnectorFactory::describe`](stackhand_core::ConnectorFactory::describe) lists them: none.
pub fn specs() -> Vec<ActionSpec> {
    Vec::new()
}
