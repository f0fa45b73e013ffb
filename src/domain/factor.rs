//! Second factors and how a person authenticated: the factor kinds, the RFC 8176 `amr` values a
//! sign-in earns, the `acr` values Latchkey asserts (OIDC Core §2), and the second-factor policy.
//! A kind is a variant of [`FactorKind`]; a passkey's `amr` also depends on how it was used
//! ([`PasskeyUse`]).

/// A kind of second factor, as stored in `user_factors.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorKind {
    /// RFC 6238 time-based one-time passwords.
    Totp,
    /// A WebAuthn public-key credential (a passkey or a security key).
    Passkey,
}

impl FactorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Totp => "totp",
            Self::Passkey => "passkey",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "totp" => Some(Self::Totp),
            "passkey" => Some(Self::Passkey),
            _ => None,
        }
    }

    /// The RFC 8176 §2 method this factor adds to `amr` (for a passkey, the device-bound
    /// `hwk`; [`Amr::with_passkey`] says `swk` for a synced one).
    pub fn amr(self) -> &'static str {
        match self {
            Self::Totp => "otp",
            Self::Passkey => "hwk",
        }
    }
}

/// A factor as shown to people and admins: never its secret.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FactorView {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub confirmed: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// `acr` of a sign-in with a password alone.
pub const ACR_PASSWORD: &str = "urn:latchkey:acr:pwd";
/// `acr` of a sign-in with a password and a second factor.
pub const ACR_MFA: &str = "urn:latchkey:acr:mfa";
/// What discovery lists as `acr_values_supported`, weakest first.
pub const ACR_VALUES_SUPPORTED: [&str; 2] = [ACR_PASSWORD, ACR_MFA];

/// How a passkey was used, as its authenticator data says (WebAuthn §6.1 flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasskeyUse {
    /// Backup eligible (BE): a synced credential, a software-secured key; else device-bound.
    pub synced: bool,
    /// User verified (UV): a PIN or biometric on the authenticator.
    pub user_verified: bool,
}

/// RFC 8176 `amr`: the methods a sign-in used, in order, without repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Amr(Vec<String>);

impl Amr {
    /// A password alone.
    pub fn password() -> Self {
        Self(vec!["pwd".to_owned()])
    }

    /// A password and a second factor of `kind`: its method and `mfa`.
    pub fn with_factor(kind: FactorKind) -> Self {
        Self(vec!["pwd".into(), kind.amr().into(), "mfa".into()])
    }

    /// A passkey, after a password (`with_password`) or alone: `hwk` for a device-bound
    /// credential, `swk` for a synced one, `user` when the authenticator verified the person,
    /// and `mfa` when it was two factors (a password, or the user verification that unlocks
    /// the key: possession plus knowledge or inherence).
    pub fn with_passkey(with_password: bool, used: PasskeyUse) -> Self {
        let mut values = Vec::new();
        if with_password {
            values.push("pwd");
        }
        values.push(if used.synced { "swk" } else { "hwk" });
        if used.user_verified {
            values.push("user");
        }
        if with_password || used.user_verified {
            values.push("mfa");
        }
        Self(values.into_iter().map(str::to_owned).collect())
    }

    /// A recovery code in place of the second factor: a one-time password, and `mfa`.
    pub fn with_recovery_code() -> Self {
        Self(vec!["pwd".into(), "otp".into(), "mfa".into()])
    }

    /// As stored (space-separated); `None` (rows older than second factors) is a password.
    pub fn from_stored(stored: Option<&str>) -> Self {
        let values: Vec<String> = stored
            .unwrap_or("")
            .split(' ')
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect();
        if values.is_empty() {
            Self::password()
        } else {
            Self(values)
        }
    }

    pub fn to_stored(&self) -> String {
        self.0.join(" ")
    }

    pub fn values(&self) -> &[String] {
        &self.0
    }

    pub fn is_multi_factor(&self) -> bool {
        self.0.iter().any(|v| v == "mfa")
    }

    /// The `acr` this sign-in satisfies.
    pub fn acr(&self) -> &'static str {
        if self.is_multi_factor() {
            ACR_MFA
        } else {
            ACR_PASSWORD
        }
    }
}

/// Whether a request's `acr_values` (space-separated, in order of preference) asks for a second
/// factor: it does when it names [`ACR_MFA`] and not [`ACR_PASSWORD`] before it. Unknown values
/// are ignored (`acr_values` is a voluntary claim, OIDC Core §5.5.1.1).
pub fn acr_values_want_mfa(acr_values: Option<&str>) -> bool {
    acr_values
        .unwrap_or("")
        .split(' ')
        .find(|v| ACR_VALUES_SUPPORTED.contains(v))
        == Some(ACR_MFA)
}

/// When a second factor is asked for at sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MfaPolicy {
    /// Never (enrolled factors are not asked for).
    Off,
    /// When the person has enrolled one.
    #[default]
    Optional,
    /// Always; a person without one enrols at sign-in.
    Required,
}

impl MfaPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Optional => "optional",
            Self::Required => "required",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "off" => Some(Self::Off),
            "optional" => Some(Self::Optional),
            "required" => Some(Self::Required),
            _ => None,
        }
    }

    /// The policy for a client: its own when set, else the global one.
    pub fn for_client(global: Self, client: Option<Self>) -> Self {
        client.unwrap_or(global)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amr_round_trips_and_older_rows_are_a_password() {
        let amr = Amr::with_factor(FactorKind::Totp);
        assert_eq!(amr.to_stored(), "pwd otp mfa");
        assert_eq!(Amr::from_stored(Some("pwd otp mfa")), amr);
        assert_eq!(Amr::from_stored(None), Amr::password());
        assert_eq!(amr.acr(), ACR_MFA);
        assert_eq!(Amr::password().acr(), ACR_PASSWORD);
    }

    #[test]
    fn passkey_amr_names_the_key_kind_user_verification_and_mfa() {
        let bound = PasskeyUse {
            synced: false,
            user_verified: true,
        };
        let synced = PasskeyUse {
            synced: true,
            user_verified: true,
        };
        let presence_only = PasskeyUse {
            synced: false,
            user_verified: false,
        };
        assert_eq!(Amr::with_passkey(false, bound).to_stored(), "hwk user mfa");
        assert_eq!(Amr::with_passkey(false, synced).to_stored(), "swk user mfa");
        assert_eq!(
            Amr::with_passkey(true, synced).to_stored(),
            "pwd swk user mfa"
        );
        assert_eq!(
            Amr::with_passkey(true, presence_only).to_stored(),
            "pwd hwk mfa"
        );
        let alone = Amr::with_passkey(false, presence_only);
        assert_eq!(alone.to_stored(), "hwk");
        assert_eq!(alone.acr(), ACR_PASSWORD);
        assert_eq!(Amr::with_passkey(false, bound).acr(), ACR_MFA);
        assert_eq!(FactorKind::parse("passkey"), Some(FactorKind::Passkey));
    }

    #[test]
    fn acr_values_ask_for_mfa_only_when_preferred() {
        assert!(acr_values_want_mfa(Some("urn:latchkey:acr:mfa")));
        assert!(acr_values_want_mfa(Some("other urn:latchkey:acr:mfa")));
        assert!(!acr_values_want_mfa(Some(
            "urn:latchkey:acr:pwd urn:latchkey:acr:mfa"
        )));
        assert!(!acr_values_want_mfa(Some("other")));
        assert!(!acr_values_want_mfa(None));
    }
}
