-- Where a session was started from, shown to its owner on the account page: a short summary of
-- the browser ("Chrome on Linux", at most 64 characters) and the client address (behind trusted
-- proxies, the address they vouch for). Sessions from before this change have neither.
ALTER TABLE sessions ADD COLUMN device TEXT;
ALTER TABLE sessions ADD COLUMN address TEXT;
