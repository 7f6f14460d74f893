//! `awsx explain`: what an AWS credential error means, and its causes in the order to check
//! them. [`parse`] reads the message.
pub mod parse;

pub use parse::{Facts, Kind, Message, parse};
