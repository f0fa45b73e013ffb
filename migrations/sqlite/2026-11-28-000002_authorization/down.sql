DROP TABLE revoked_access_tokens;
DROP TABLE refresh_tokens;
DROP TABLE consents;
DROP TABLE authorization_codes;
DROP TABLE authorization_requests;
DROP TABLE sessions;
