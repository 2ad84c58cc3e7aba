-- referral_count follows inviter_id inside the statement that sets it, so linking a user is one
-- UPDATE: atomic without an explicit transaction, and right whoever writes the link.
CREATE TRIGGER users_count_referral
AFTER UPDATE OF inviter_id ON users
FOR EACH ROW WHEN OLD.inviter_id IS NULL AND NEW.inviter_id IS NOT NULL
BEGIN
    UPDATE users SET referral_count = referral_count + 1 WHERE id = NEW.inviter_id;
END;
