//! The diesel schema shared by both backends (DESIGN.md §4: TEXT ids, BIGINT times, BOOL, BINARY).

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        email -> Nullable<Text>,
        email_verified -> Bool,
        name -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        disabled -> Bool,
        created_at -> BigInt,
        updated_at -> BigInt,
        is_admin -> Bool,
        username_normalized -> Nullable<Text>,
    }
}

diesel::table! {
    clients (id) {
        id -> Text,
        name -> Text,
        secret_hash -> Nullable<Binary>,
        grant_types -> Text,
        redirect_uris -> Text,
        post_logout_redirect_uris -> Text,
        scope -> Text,
        first_party -> Bool,
        disabled -> Bool,
        created_at -> BigInt,
        updated_at -> BigInt,
        refresh_token_ttl_secs -> Nullable<BigInt>,
        refresh_token_absolute_ttl_secs -> Nullable<BigInt>,
        registration_token_hash -> Nullable<Binary>,
        token_endpoint_auth_method -> Text,
        registered_by -> Nullable<Text>,
        access_token_alg -> Nullable<Text>,
        id_token_signed_response_alg -> Nullable<Text>,
        access_token_ttl_secs -> Nullable<BigInt>,
        first_used_at -> Nullable<BigInt>,
        mfa_policy -> Nullable<Text>,
        id_token_claims -> Bool,
        web_origins -> Text,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        alg -> Text,
        state -> Text,
        public_n -> Binary,
        public_e -> Binary,
        private_key -> Binary,
        created_at -> BigInt,
        activated_at -> Nullable<BigInt>,
        retired_at -> Nullable<BigInt>,
        activate_after -> Nullable<BigInt>,
        public_jwk -> Nullable<Text>,
    }
}

diesel::table! {
    sessions (id_hash) {
        id_hash -> Binary,
        sid -> Text,
        user_id -> Text,
        auth_time -> BigInt,
        created_at -> BigInt,
        last_seen_at -> BigInt,
        expires_at -> BigInt,
        amr -> Text,
        device -> Nullable<Text>,
        address -> Nullable<Text>,
    }
}

diesel::table! {
    used_requests (id_hash) {
        id_hash -> Binary,
        expires_at -> BigInt,
    }
}

diesel::table! {
    authorization_codes (code_hash) {
        code_hash -> Binary,
        family_id -> Text,
        client_id -> Text,
        user_id -> Text,
        redirect_uri -> Text,
        scope -> Text,
        nonce -> Nullable<Text>,
        code_challenge -> Nullable<Text>,
        auth_time -> BigInt,
        sid -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
        consumed_at -> Nullable<BigInt>,
        access_token_jti -> Nullable<Text>,
        access_token_expires_at -> Nullable<BigInt>,
        resources -> Text,
        amr -> Nullable<Text>,
    }
}

diesel::table! {
    consents (user_id, client_id) {
        user_id -> Text,
        client_id -> Text,
        scope -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Binary,
        family_id -> Text,
        client_id -> Text,
        user_id -> Text,
        scope -> Text,
        auth_time -> BigInt,
        sid -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
        family_expires_at -> BigInt,
        rotated_at -> Nullable<BigInt>,
        successor_hash -> Nullable<Binary>,
        successor_sealed -> Nullable<Binary>,
        offline -> Bool,
        resources -> Text,
        amr -> Nullable<Text>,
    }
}

diesel::table! {
    revoked_access_tokens (jti) {
        jti -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    family_access_tokens (jti) {
        jti -> Text,
        family_id -> Text,
        client_id -> Text,
        user_id -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    change_generations (name) {
        name -> Text,
        generation -> BigInt,
    }
}

diesel::table! {
    login_throttle (key_hash) {
        key_hash -> Binary,
        kind -> Text,
        account_hash -> Nullable<Binary>,
        failures -> BigInt,
        blocked_until -> BigInt,
        updated_at -> BigInt,
        expires_at -> BigInt,
        in_flight -> BigInt,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        at -> BigInt,
        event -> Text,
        actor -> Text,
        subject -> Nullable<Text>,
        client_id -> Nullable<Text>,
        address -> Nullable<Text>,
        request_id -> Nullable<Text>,
        reason -> Nullable<Text>,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    user_factors (id) {
        id -> Text,
        user_id -> Text,
        kind -> Text,
        name -> Text,
        secret -> Binary,
        confirmed -> Bool,
        last_step -> Nullable<BigInt>,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
        credential_hash -> Nullable<Binary>,
    }
}

diesel::table! {
    groups (id) {
        id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    recovery_codes (code_hash) {
        code_hash -> Binary,
        user_id -> Text,
        created_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    group_members (group_id, user_id) {
        group_id -> Text,
        user_id -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    group_scopes (group_id, scope) {
        group_id -> Text,
        scope -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    resources (identifier) {
        identifier -> Text,
        access_token_ttl_secs -> Nullable<BigInt>,
        public -> Bool,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    resource_scopes (resource, scope) {
        resource -> Text,
        scope -> Text,
        description -> Nullable<Text>,
    }
}

diesel::table! {
    client_resources (client_id, resource) {
        client_id -> Text,
        resource -> Text,
        is_default -> Bool,
    }
}

diesel::table! {
    email_tokens (token_hash) {
        token_hash -> Binary,
        user_id -> Text,
        purpose -> Text,
        email -> Nullable<Text>,
        requested_from -> Nullable<Binary>,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::joinable!(resource_scopes -> resources (resource));
diesel::joinable!(client_resources -> resources (resource));

diesel::allow_tables_to_appear_in_same_query!(
    email_tokens,
    audit_events,
    resources,
    resource_scopes,
    client_resources,
    user_factors,
    recovery_codes,
    groups,
    group_members,
    group_scopes,
    change_generations,
    login_throttle,
    family_access_tokens,
    sessions,
    used_requests,
    authorization_codes,
    consents,
    refresh_tokens,
    revoked_access_tokens,
    users,
    clients,
    signing_keys,
);
