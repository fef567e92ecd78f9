//! NinjaOne's own actions, and [`specs`] listing them for the factory's description.
//!
//! There are none yet: the built-in `rmm.*` actions (`rmm.tag_device`, `rmm.untag_device`,
//! `rmm.run_script`) work through the [`Rmm`](stackhand_core::Rmm) and
//! [`RmmWrites`](stackhand_core::RmmWrites) implementations.

use std::sync::Arc;

use stackhand_core::{Action, ActionSpec};

/// Every vendor action a NinjaOne connector offers, as
/// [`ConnectorFactory::describe`](stackhand_core::ConnectorFactory::describe) lists them.
pub fn specs() -> Vec<ActionSpec> {
    Vec::new()
}

/// The actions a connector returns from `Connector::actions`, matching [`specs`].
pub(crate) fn actions() -> Vec<Arc<dyn Action>> {
    Vec::new()
}
