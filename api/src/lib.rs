//! Dingdan, the server: order management from intake to after-sales, over REST
//! and GraphQL.
//!
//! Layers, from the inside out: [`domain`] (pure types and rules), [`service`]
//! (use cases; the only code that touches the database), [`wire`] (the public
//! request and response shapes), and the transports [`rest`] and [`graphql`],
//! thin adapters over the same service functions.

pub mod auth;
pub mod domain;
pub mod graphql;
pub mod http;
pub mod rest;
pub mod service;
pub mod settings;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod wire;
