-- Login by email address looks users up by their lower-cased address.
CREATE INDEX users_email_lower ON users (lower(email));
