//! `[client_id_metadata]`: client ID metadata documents (MCP authorization spec), the limits on
//! fetching them, and the development escape hatch for private hosts.

use serde::{Deserialize, Serialize};

use super::parse;

/// Client ID metadata documents (a `client_id` that is an https URL, MCP authorization spec).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientIdMetadataSettings {
    pub enabled: bool,
    /// Hosts whose documents may be fetched; `*` allows any host with a public address.
    pub allowed_hosts: Vec<String>,
    /// Hosts that may resolve to private or loopback addresses and be fetched over plain http
    /// (development and tests only).
    pub allow_private_hosts: Vec<String>,
    #[serde(deserialize_with = "parse::non_zero_u32")]
    pub max_bytes: std::num::NonZeroU32,
    #[serde(deserialize_with = "parse::non_zero_u32")]
    pub timeout_ms: std::num::NonZeroU32,
    pub min_cache_secs: u32,
    #[serde(deserialize_with = "parse::non_zero_u32")]
    pub max_cache_secs: std::num::NonZeroU32,
    #[serde(deserialize_with = "parse::non_zero_u32")]
    pub fetches_per_host_per_minute: std::num::NonZeroU32,
}
