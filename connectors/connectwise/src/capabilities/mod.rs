//! The capability traits ConnectWise offers: [`Psa`](stackhand_core::Psa).

mod psa;
