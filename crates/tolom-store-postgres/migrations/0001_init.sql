-- tolom on PostgreSQL: the schema and the invariants it enforces itself.
--
-- Forward-only: never edit a migration that has shipped; add a new one.
-- Every table lives in the schema first on the connection's search_path
-- (PgOptions::schema), so several deployments or test runs can share one
-- database. Amounts are integer minor units (tyiyn) with a currency code.
-- Triggers raise SQLSTATE 23514 (check_violation) with a constraint name, so
-- the adapter maps them like CHECK constraints (StoreError::Invariant).

-- ---------------------------------------------------------------------------
-- Charges
-- ---------------------------------------------------------------------------
CREATE TABLE charges (
    id           uuid        PRIMARY KEY,
    code         text        NOT NULL,
    service      text        NOT NULL,
    urgency      text,
    payer_name   text        NOT NULL,
    currency     text        NOT NULL,
    amount_minor bigint      NOT NULL CHECK (amount_minor >= 0),
    issued_at    timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    status       text        NOT NULL
        CHECK (status IN ('unpaid', 'paid', 'expired', 'cancelled')),
    agency_ref   text,
    CONSTRAINT charges_code_key UNIQUE (code)
);

CREATE INDEX charges_by_expiry ON charges (expires_at, id);
CREATE INDEX charges_by_status ON charges (status, expires_at, id);

-- ---------------------------------------------------------------------------
-- Payments
-- ---------------------------------------------------------------------------
CREATE TABLE payments (
    id                   uuid        PRIMARY KEY,
    charge_id            uuid        NOT NULL REFERENCES charges (id),
    code                 text        NOT NULL,
    service              text        NOT NULL,
    currency             text        NOT NULL,
    amount_minor         bigint      NOT NULL CHECK (amount_minor >= 0),
    fee_minor            bigint      NOT NULL CHECK (fee_minor >= 0),
    total_minor          bigint      NOT NULL,
    state                text        NOT NULL CHECK (state IN (
        'created', 'authorizing', 'action_required', 'unknown', 'succeeded',
        'declined', 'failed', 'expired', 'partially_refunded', 'refunded')),
    version              bigint      NOT NULL CHECK (version >= 1),
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    expires_at           timestamptz NOT NULL,
    terms_edition        text        NOT NULL,
    language             text        NOT NULL CHECK (language IN ('ky', 'ru', 'en')),
    start_key            text        NOT NULL,
    submit_key           text,
    card                 jsonb,  -- masked PAN, brand, holder: never the PAN or CVV
    contact              jsonb,
    acquirer             text,
    acquirer_ref         text,
    approval             jsonb,
    decline_reason       text,
    failure              text,
    challenge            jsonb,
    refunded_minor       bigint      NOT NULL CHECK (refunded_minor >= 0),
    refund_pending_minor bigint      NOT NULL CHECK (refund_pending_minor >= 0),
    succeeded_at         timestamptz,
    receipt_number       text,
    CONSTRAINT payments_start_key UNIQUE (start_key),
    CONSTRAINT payments_total_is_sum CHECK (total_minor = amount_minor + fee_minor),
    -- Refunds (done and reserved) never exceed what was paid.
    CONSTRAINT payments_refunds_within_total
        CHECK (refunded_minor + refund_pending_minor <= total_minor),
    -- Money was taken only with an approval.
    CONSTRAINT payments_paid_has_approval CHECK (
        state NOT IN ('succeeded', 'partially_refunded', 'refunded')
        OR (approval IS NOT NULL AND succeeded_at IS NOT NULL))
);

-- At most one payment per charge in flight. Taken atomically by the INSERT
-- itself: a concurrent second INSERT waits for the first transaction and
-- then fails with 23505 on this index (StoreError::InFlight).
CREATE UNIQUE INDEX payments_one_in_flight ON payments (charge_id)
    WHERE state IN ('created', 'authorizing', 'action_required', 'unknown');

-- At most one succeeded, unrefunded payment per charge.
CREATE UNIQUE INDEX payments_one_paid ON payments (charge_id)
    WHERE state IN ('succeeded', 'partially_refunded');

CREATE INDEX payments_by_charge ON payments (charge_id, created_at);
CREATE INDEX payments_by_created ON payments (created_at, id);
CREATE INDEX payments_by_state ON payments (state, updated_at);
CREATE INDEX payments_by_receipt ON payments (receipt_number)
    WHERE receipt_number IS NOT NULL;

-- Amounts, charge and code are fixed when a payment is created.
CREATE FUNCTION tolom_payments_fixed() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF NEW.amount_minor IS DISTINCT FROM OLD.amount_minor
       OR NEW.fee_minor IS DISTINCT FROM OLD.fee_minor
       OR NEW.total_minor IS DISTINCT FROM OLD.total_minor
       OR NEW.currency IS DISTINCT FROM OLD.currency
       OR NEW.charge_id IS DISTINCT FROM OLD.charge_id
       OR NEW.code IS DISTINCT FROM OLD.code
       OR NEW.id IS DISTINCT FROM OLD.id THEN
        RAISE EXCEPTION 'amounts, charge and code of payment % are fixed after creation', OLD.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'payments_fixed_fields';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER payments_fixed_fields BEFORE UPDATE ON payments
    FOR EACH ROW EXECUTE FUNCTION tolom_payments_fixed();

-- A payment that holds money belongs to a Paid charge, checked at commit:
-- the success and the charge becoming Paid are one atomic step.
CREATE FUNCTION tolom_payments_paid_charge() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF NEW.state IN ('succeeded', 'partially_refunded') AND NOT EXISTS (
        SELECT 1 FROM charges WHERE id = NEW.charge_id AND status = 'paid') THEN
        RAISE EXCEPTION 'payment % holds money but its charge is not paid', NEW.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'payments_paid_charge';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER payments_paid_charge
    AFTER INSERT OR UPDATE OF state ON payments
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (NEW.state IN ('succeeded', 'partially_refunded'))
    EXECUTE FUNCTION tolom_payments_paid_charge();

-- Charges: code and amount are fixed; `paid` is entered only with a paid
-- payment and never left while one exists.
CREATE FUNCTION tolom_charges_rules() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF NEW.code IS DISTINCT FROM OLD.code
       OR NEW.amount_minor IS DISTINCT FROM OLD.amount_minor
       OR NEW.currency IS DISTINCT FROM OLD.currency
       OR NEW.id IS DISTINCT FROM OLD.id THEN
        RAISE EXCEPTION 'code and amount of charge % are fixed', OLD.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'charges_fixed_fields';
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        IF NEW.status = 'paid' AND NOT EXISTS (
            SELECT 1 FROM payments WHERE charge_id = NEW.id
               AND state IN ('succeeded', 'partially_refunded')) THEN
            RAISE EXCEPTION 'charge % has no paid payment', NEW.id
                USING ERRCODE = 'check_violation', CONSTRAINT = 'charges_paid_needs_payment';
        END IF;
        IF OLD.status = 'paid' AND EXISTS (
            SELECT 1 FROM payments WHERE charge_id = NEW.id
               AND state IN ('succeeded', 'partially_refunded')) THEN
            RAISE EXCEPTION 'charge % has a paid payment and stays paid', NEW.id
                USING ERRCODE = 'check_violation', CONSTRAINT = 'charges_paid_stays_paid';
        END IF;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER charges_rules BEFORE UPDATE ON charges
    FOR EACH ROW EXECUTE FUNCTION tolom_charges_rules();

-- ---------------------------------------------------------------------------
-- Refunds
-- ---------------------------------------------------------------------------
CREATE TABLE refunds (
    seq             bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    id              uuid        PRIMARY KEY,
    payment_id      uuid        NOT NULL REFERENCES payments (id),
    currency        text        NOT NULL,
    amount_minor    bigint      NOT NULL CHECK (amount_minor > 0),
    reason          text        NOT NULL,
    state           text        NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
    idempotency_key text        NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    failure         text,
    CONSTRAINT refunds_key UNIQUE (payment_id, idempotency_key)
);

CREATE INDEX refunds_pending ON refunds (seq) WHERE state = 'pending';

CREATE FUNCTION tolom_refunds_fixed() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF NEW.amount_minor IS DISTINCT FROM OLD.amount_minor
       OR NEW.currency IS DISTINCT FROM OLD.currency
       OR NEW.payment_id IS DISTINCT FROM OLD.payment_id
       OR NEW.idempotency_key IS DISTINCT FROM OLD.idempotency_key THEN
        RAISE EXCEPTION 'amount, payment and key of refund % are fixed', OLD.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'refunds_fixed_fields';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER refunds_fixed_fields BEFORE UPDATE ON refunds
    FOR EACH ROW EXECUTE FUNCTION tolom_refunds_fixed();

-- The refunds of a payment that are not failed never add up to more than
-- it took, checked at commit.
CREATE FUNCTION tolom_refunds_within_total() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF (SELECT coalesce(sum(r.amount_minor), 0) FROM refunds r
         WHERE r.payment_id = NEW.payment_id AND r.state <> 'failed')
       > (SELECT p.total_minor FROM payments p WHERE p.id = NEW.payment_id) THEN
        RAISE EXCEPTION 'refunds of payment % exceed what was paid', NEW.payment_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'refunds_within_total';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER refunds_within_total
    AFTER INSERT OR UPDATE ON refunds
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION tolom_refunds_within_total();

-- ---------------------------------------------------------------------------
-- Outbox
-- ---------------------------------------------------------------------------
CREATE TABLE outbox (
    seq             bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    id              uuid        PRIMARY KEY,
    created_at      timestamptz NOT NULL,
    channel         text        NOT NULL CHECK (channel IN ('email', 'webhook')),
    payload         jsonb       NOT NULL,
    status          text        NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts        integer     NOT NULL CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL,
    lease_until     timestamptz,
    lease_owner     text,
    last_error      text,
    delivered_at    timestamptz,
    CONSTRAINT outbox_delivered_at CHECK ((status = 'delivered') = (delivered_at IS NOT NULL))
);

-- What workers scan: pending rows by due time.
CREATE INDEX outbox_due ON outbox (next_attempt_at, seq) WHERE status = 'pending';
CREATE INDEX outbox_dead ON outbox (seq) WHERE status = 'dead';

-- ---------------------------------------------------------------------------
-- Events: append-only
-- ---------------------------------------------------------------------------
CREATE TABLE events (
    seq        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         uuid        NOT NULL,
    at         timestamptz NOT NULL,
    charge_id  uuid        NOT NULL,
    payment_id uuid,
    kind       text        NOT NULL,
    data       jsonb       NOT NULL
);

CREATE INDEX events_by_charge ON events (charge_id, seq);
CREATE INDEX events_by_payment ON events (payment_id, seq) WHERE payment_id IS NOT NULL;

CREATE FUNCTION tolom_append_only() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'check_violation', CONSTRAINT = TG_TABLE_NAME || '_append_only';
END $$;

CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION tolom_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION tolom_append_only();

-- ---------------------------------------------------------------------------
-- User-agreement editions: published once, never rewritten
-- ---------------------------------------------------------------------------
CREATE TABLE terms_editions (
    id           text        PRIMARY KEY,
    published_at timestamptz NOT NULL,
    effective_at timestamptz NOT NULL,
    last_changed date        NOT NULL,
    text_ky      text        NOT NULL,
    text_ru      text        NOT NULL,
    text_en      text        NOT NULL
);

CREATE TRIGGER terms_editions_append_only BEFORE UPDATE OR DELETE ON terms_editions
    FOR EACH ROW EXECUTE FUNCTION tolom_append_only();
CREATE TRIGGER terms_editions_no_truncate BEFORE TRUNCATE ON terms_editions
    FOR EACH STATEMENT EXECUTE FUNCTION tolom_append_only();
