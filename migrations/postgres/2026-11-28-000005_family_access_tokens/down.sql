DROP TABLE family_access_tokens;
