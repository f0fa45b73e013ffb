//! The closed set of audit event names. A name, once published, never changes meaning: log
//! pipelines and alerts match on it. `docs/monitoring.md` lists every one with its fields.

/// Declares [`Kind`] with its names, in catalogue order.
macro_rules! kinds {
    ($($variant:ident => $name:literal,)*) => {
        /// What happened; see the module documentation.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Kind {
            $($variant,)*
        }

        impl Kind {
            /// Every event name, in catalogue order.
            pub const ALL: &'static [Kind] = &[$(Kind::$variant,)*];

            /// The stable snake_case name of the `event` field.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Kind::$variant => $name,)*
                }
            }
        }
    };
}

kinds! {
    LoginSucceeded => "login_succeeded",
    LoginFailed => "login_failed",
    LoginThrottled => "login_throttled",
    LoginBackoff => "login_backoff",
    AccountLocked => "account_locked",
    AccountUnlocked => "account_unlocked",
    ClientAuthFailed => "client_auth_failed",
    CodeIssued => "code_issued",
    CodeReplayed => "code_replayed",
    TokenIssued => "token_issued",
    TokenRefreshed => "token_refreshed",
    RefreshTokenReused => "refresh_token_reused",
    TokenRevoked => "token_revoked",
    ConsentGiven => "consent_given",
    ConsentDenied => "consent_denied",
    ConsentRevoked => "consent_revoked",
    MfaEnrolled => "mfa_enrolled",
    MfaRemoved => "mfa_removed",
    MfaRenamed => "mfa_renamed",
    MfaFailed => "mfa_failed",
    RecoveryCodeUsed => "recovery_code_used",
    RecoveryCodesRegenerated => "recovery_codes_regenerated",
    SessionEnded => "session_ended",
    UserCreated => "user_created",
    UserUpdated => "user_updated",
    ProfileUpdated => "profile_updated",
    UserDisabled => "user_disabled",
    UserEnabled => "user_enabled",
    UserRemoved => "user_removed",
    PasswordChanged => "password_changed",
    PasswordChangeFailed => "password_change_failed",
    PasswordResetRequested => "password_reset_requested",
    PasswordReset => "password_reset",
    PasswordLinkCreated => "password_link_created",
    EmailVerificationSent => "email_verification_sent",
    EmailVerified => "email_verified",
    AdminGranted => "admin_granted",
    AdminRevoked => "admin_revoked",
    ClientRegistered => "client_registered",
    ClientUpdated => "client_updated",
    ClientDisabled => "client_disabled",
    ClientEnabled => "client_enabled",
    ClientRemoved => "client_removed",
    ClientSecretRotated => "client_secret_rotated",
    OpenRegistrationLimited => "open_registration_limited",
    ClientRegistrationRefused => "client_registration_refused",
    ClientExpired => "client_expired",
    ClientMfaPolicySet => "client_mfa_policy_set",
    ClientMetadataFetched => "client_metadata_fetched",
    GroupCreated => "group_created",
    GroupRemoved => "group_removed",
    GroupMemberAdded => "group_member_added",
    GroupMemberRemoved => "group_member_removed",
    GroupScopeAllowed => "group_scope_allowed",
    GroupScopeDisallowed => "group_scope_disallowed",
    ResourceCreated => "resource_created",
    ResourceRemoved => "resource_removed",
    KeyPublished => "key_published",
    KeyActivated => "key_activated",
    KeyRetired => "key_retired",
    KeyDeleted => "key_deleted",
}

impl Kind {
    /// Events that point at an attack in progress are logged at `WARN`, the rest at `INFO`.
    pub fn is_warning(self) -> bool {
        matches!(
            self,
            Self::CodeReplayed
                | Self::RefreshTokenReused
                | Self::AccountLocked
                | Self::LoginBackoff
        )
    }
}

impl std::str::FromStr for Kind {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == name)
            .ok_or_else(|| format!("`{name}` is not an audit event name"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_snake_case_and_parse_back() {
        let mut seen = std::collections::HashSet::new();
        for kind in Kind::ALL {
            let name = kind.as_str();
            assert!(seen.insert(name), "{name} twice");
            assert!(name.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
            assert_eq!(name.parse::<Kind>(), Ok(*kind));
        }
        assert!("login".parse::<Kind>().is_err());
    }
}
