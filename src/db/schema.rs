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
    }
}

diesel::allow_tables_to_appear_in_same_query!(users, clients, signing_keys);
