DROP INDEX family_access_tokens_expires;
DROP INDEX revoked_access_tokens_expires;
DROP INDEX refresh_tokens_family_expires;
DROP INDEX authorization_codes_expires;
DROP INDEX sessions_expires;
