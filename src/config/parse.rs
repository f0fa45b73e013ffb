//! Parsing of single configuration values: each refuses, while the configuration is read, what
//! it cannot be, and figment names the key it came from (`invalid value for `server.bind`: …`).
//! Rules between several keys are in `config::checks`.

use std::fmt;
use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroU64};

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use url::Url;

use super::{Backend, Issuer, MAX_LIFETIME_SECS};

/// A number greater than zero.
pub fn positive<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + PartialOrd + Default,
{
    let value = T::deserialize(d)?;
    if value > T::default() {
        Ok(value)
    } else {
        Err(D::Error::custom("must be positive"))
    }
}

/// A count greater than zero (`database.pool_size`, `registration.open_per_hour`).
pub fn non_zero_u32<'de, D: Deserializer<'de>>(d: D) -> Result<NonZeroU32, D::Error> {
    NonZeroU32::new(u32::deserialize(d)?).ok_or_else(|| D::Error::custom("must be positive"))
}

/// A duration greater than zero (`database.connect_timeout_secs`).
pub fn non_zero_u64<'de, D: Deserializer<'de>>(d: D) -> Result<NonZeroU64, D::Error> {
    NonZeroU64::new(u64::deserialize(d)?).ok_or_else(|| D::Error::custom("must be positive"))
}

/// A lifetime in seconds: from 1 second to 10 years, which keeps every `now + lifetime` far
/// from overflow.
pub fn lifetime<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let secs: i64 = positive(d)?;
    at_most_ten_years(secs)
}

/// A grace period in seconds: 0 to 10 years.
pub fn grace<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let secs = i64::deserialize(d)?;
    if secs < 0 {
        return Err(D::Error::custom("must not be negative"));
    }
    at_most_ten_years(secs)
}

fn at_most_ten_years<E: serde::de::Error>(secs: i64) -> Result<i64, E> {
    if secs > MAX_LIFETIME_SECS {
        Err(E::custom("must be at most 10 years (315360000 s)"))
    } else {
        Ok(secs)
    }
}

/// A cache or polling period in seconds: at most a day.
pub fn at_most_a_day<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let secs = u64::deserialize(d)?;
    if secs > 86_400 {
        Err(D::Error::custom("must be at most a day (86400 s)"))
    } else {
        Ok(secs)
    }
}

/// A positive period of at most a day.
pub fn positive_at_most_a_day<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match at_most_a_day(d)? {
        0 => Err(D::Error::custom("must be positive")),
        secs => Ok(secs),
    }
}

/// The issuer: an absolute http(s) URL with a host, no user information, query or fragment
/// (OIDC Discovery 1.0 §3).
/// How long a request body may take to arrive: 1 s to an hour.
pub fn body_timeout<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let secs = u64::deserialize(d)?;
    if (1..=3600).contains(&secs) {
        Ok(secs)
    } else {
        Err(D::Error::custom("must be from 1 to 3600"))
    }
}

/// A zxcvbn strength score: 0 to 4.
pub fn strength<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
    let score = u8::deserialize(d)?;
    if score <= 4 {
        Ok(score)
    } else {
        Err(D::Error::custom("must be from 0 to 4"))
    }
}

/// The change-poll interval: 10 ms to a minute.
pub fn poll_interval_ms<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let value = u64::deserialize(d)?;
    if (10..=60_000).contains(&value) {
        Ok(value)
    } else {
        Err(D::Error::custom("must be between 10 and 60000"))
    }
}

pub fn issuer<'de, D: Deserializer<'de>>(d: D) -> Result<Issuer, D::Error> {
    Issuer::parse(&String::deserialize(d)?).map_err(D::Error::custom)
}

/// `database.url`: a URL whose scheme names a [`Backend`].
pub fn database_url<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let raw = String::deserialize(d)?;
    Backend::from_url(&raw).map_err(D::Error::custom)?;
    Ok(raw)
}

/// `server.bind`: `IP:PORT`.
pub fn bind<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
    String::deserialize(d)?
        .parse()
        .map_err(|_| D::Error::custom("expected IP:PORT, for example 127.0.0.1:8080"))
}

/// `server.max_body_bytes`: at least 1 KiB.
pub fn body_limit<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    match usize::deserialize(d)? {
        n if n >= 1024 => Ok(n),
        _ => Err(D::Error::custom("must be at least 1024")),
    }
}

/// `keys.rsa_bits`: a multiple of 8 from 2048 to 8192.
pub fn rsa_bits<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    match usize::deserialize(d)? {
        bits if (2048..=8192).contains(&bits) && bits % 8 == 0 => Ok(bits),
        _ => Err(D::Error::custom(
            "must be a multiple of 8 from 2048 to 8192",
        )),
    }
}

/// `passwords.min_length`: from 8 to 128.
pub fn min_length<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    match usize::deserialize(d)? {
        n if (8..=128).contains(&n) => Ok(n),
        _ => Err(D::Error::custom("must be from 8 to 128")),
    }
}

/// A text that must not be blank.
pub fn not_blank<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let text = String::deserialize(d)?;
    if text.trim().is_empty() {
        Err(D::Error::custom("must not be empty"))
    } else {
        Ok(text)
    }
}

/// An optional http(s) URL: empty for none.
pub fn optional_web_url<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let raw = String::deserialize(d)?;
    if !raw.is_empty() {
        let url =
            Url::parse(&raw).map_err(|e| D::Error::custom(format!("not an absolute URL ({e})")))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(D::Error::custom("must be an http(s) URL"));
        }
    }
    Ok(raw)
}

/// `branding.accent_color`: `#rgb` or `#rrggbb`, safe to put into a style sheet as it is.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccentColor(String);

impl TryFrom<String> for AccentColor {
    type Error = &'static str;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        let hex = raw.strip_prefix('#').unwrap_or("");
        if matches!(hex.len(), 3 | 6) && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            Ok(Self(raw))
        } else {
            Err("expected #rgb or #rrggbb")
        }
    }
}

impl From<AccentColor> for String {
    fn from(color: AccentColor) -> Self {
        color.0
    }
}

impl fmt::Display for AccentColor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
