-- referral_count follows inviter_id inside the statement that sets it, so linking a user is one
-- UPDATE, and the count stays right whoever writes the link.
CREATE FUNCTION users_count_referral() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE users SET referral_count = referral_count + 1 WHERE id = NEW.inviter_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_count_referral
AFTER UPDATE OF inviter_id ON users
FOR EACH ROW WHEN (OLD.inviter_id IS NULL AND NEW.inviter_id IS NOT NULL)
EXECUTE FUNCTION users_count_referral();
