DELETE FROM login_throttle WHERE kind = 'second_factor';
ALTER TABLE login_throttle DROP CONSTRAINT login_throttle_kind_check;
ALTER TABLE login_throttle ADD CONSTRAINT login_throttle_kind_check
    CHECK (kind IN ('account', 'account_address', 'address', 'request'));
ALTER TABLE clients DROP COLUMN mfa_policy;
ALTER TABLE refresh_tokens DROP COLUMN amr;
ALTER TABLE authorization_codes DROP COLUMN amr;
ALTER TABLE sessions DROP COLUMN amr;
DROP TABLE recovery_codes;
DROP TABLE user_factors;
