-- Users and the referral graph. Times are microseconds since the Unix epoch (UTC), as in the
-- SQLite schema, so both backends run the same queries.
CREATE TABLE users (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    phone_number   TEXT   NOT NULL UNIQUE,           -- E.164
    invite_code    TEXT   NOT NULL UNIQUE,           -- upper case, 6 chars
    inviter_id     BIGINT NULL REFERENCES users (id),
    invited_at     BIGINT NULL,
    referral_count BIGINT NOT NULL DEFAULT 0,        -- users whose inviter_id is this id
    created_at     BIGINT NOT NULL,
    CHECK (inviter_id IS NULL OR inviter_id <> id),
    CHECK ((inviter_id IS NULL) = (invited_at IS NULL))
);

-- Serves "referrals of X, oldest first" as a keyset scan.
CREATE INDEX users_inviter_id_id ON users (inviter_id, id);
