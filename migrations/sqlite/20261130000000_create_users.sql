-- Users and the referral graph. Times are microseconds since the Unix epoch (UTC).
CREATE TABLE users (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    phone_number   TEXT    NOT NULL UNIQUE,          -- E.164
    invite_code    TEXT    NOT NULL UNIQUE,          -- upper case, 6 chars
    inviter_id     INTEGER NULL REFERENCES users (id),
    invited_at     INTEGER NULL,
    referral_count INTEGER NOT NULL DEFAULT 0,       -- users whose inviter_id is this id
    created_at     INTEGER NOT NULL,
    CHECK (inviter_id IS NULL OR inviter_id <> id),
    CHECK ((inviter_id IS NULL) = (invited_at IS NULL))
);

-- Serves "referrals of X, oldest first" as a keyset scan.
CREATE INDEX users_inviter_id_id ON users (inviter_id, id);
