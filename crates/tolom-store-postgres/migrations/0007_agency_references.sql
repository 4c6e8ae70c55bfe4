-- An agency reference names one charge of a service.
--
--   * charges.agency_key   the agency reference of the charge that holds it
--                          (NULL for a charge without a reference). Unique
--                          per service (constraint charges_agency_key), so
--                          two requests with one reference can never both
--                          be issued, from any number of importers or
--                          instances: `ChargeStore::insert_charge` refuses
--                          the second (23505 on charges_agency_key →
--                          DuplicateAgencyRef, src/error.rs) and
--                          `charge_by_agency_ref` finds the holder.
--   * existing rows        references stored before this version were not
--                          unique (the admin API took any): the first charge
--                          of each (service, reference), by issue time then
--                          id, holds it; later ones keep their agency_ref
--                          as it was, holding nothing. No row is refused.
--
-- Forward-only: never edit this file, add a new one.

ALTER TABLE charges ADD COLUMN agency_key text,
    ADD CONSTRAINT charges_agency_key_is_ref
        CHECK (agency_key IS NULL OR agency_key = agency_ref);

UPDATE charges c SET agency_key = c.agency_ref
WHERE c.agency_ref IS NOT NULL
  AND NOT EXISTS (
      SELECT 1 FROM charges older
      WHERE older.service = c.service
        AND older.agency_ref = c.agency_ref
        AND (older.issued_at, older.id) < (c.issued_at, c.id));

CREATE UNIQUE INDEX charges_agency_key ON charges (service, agency_key)
    WHERE agency_key IS NOT NULL;
