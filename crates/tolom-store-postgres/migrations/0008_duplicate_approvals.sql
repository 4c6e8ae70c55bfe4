-- Duplicate approvals.
--
--   * payments.state     two more states: 'duplicate' (the acquirer approved a
--                        payment whose charge another payment had paid: the
--                        card was charged twice and the money is to be
--                        given back) and 'returned' (it was: reversed, or
--                        refunded in full). Neither is paid (the one-paid
--                        index, `payments_paid_charge` and the charge's
--                        status are the paying payment's) nor in flight.
--   * return_attempts,   the back-off of giving a duplicate back: failed
--     next_return_at     attempts so far and when the next is due (set only
--                        while 'duplicate': payments_return_scheduled), so
--                        that reconciliation asks the acquirer about a
--                        duplicate only when an attempt is due, not every
--                        round.
--
-- Adding columns with a constant default rewrites no row; the new CHECKs
-- hold for every existing row (none is a duplicate).
-- Forward-only: never edit this file, add a new one.

ALTER TABLE payments DROP CONSTRAINT payments_state_check;
ALTER TABLE payments ADD CONSTRAINT payments_state_check CHECK (state IN (
    'created', 'authorizing', 'action_required', 'unknown', 'succeeded',
    'declined', 'failed', 'expired', 'partially_refunded', 'refunded',
    'duplicate', 'returned'));

ALTER TABLE payments
    ADD COLUMN return_attempts bigint NOT NULL DEFAULT 0,
    ADD COLUMN next_return_at timestamptz,
    ADD CONSTRAINT payments_return_attempts_not_negative CHECK (return_attempts >= 0),
    -- A duplicate keeps the approval it was charged with, and never has a
    -- receipt (the receipt is the paying payment's).
    ADD CONSTRAINT payments_duplicate_has_approval CHECK (
        state NOT IN ('duplicate', 'returned')
        OR (approval IS NOT NULL AND succeeded_at IS NOT NULL AND receipt_number IS NULL)),
    -- The next attempt is scheduled exactly while the money is not back.
    ADD CONSTRAINT payments_return_scheduled
        CHECK ((state = 'duplicate') = (next_return_at IS NOT NULL));

-- The duplicates whose next attempt is due.
CREATE INDEX payments_returns_due ON payments (next_return_at) WHERE state = 'duplicate';
