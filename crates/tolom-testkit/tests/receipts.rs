//! Receipts through the use cases: what the signature covers, checks by key
//! id against the key ring (never by signing again), key rotation, and
//! receipts that a refund has since superseded.

use std::sync::Arc;

use chrono::Duration;
use tolom_core::money::Money;
use tolom_core::payment::PaymentState;
use tolom_core::ports::{Ed25519Signer, KeyRing, NotGenuine, ReceiptSigner, RingKey};
use tolom_core::receipt::Receipt;
use tolom_core::usecases::{ReceiptCheck, ReceiptClaim};
use tolom_core::Tolom;
use tolom_testkit::fake::FakeAcquirer;
use tolom_testkit::fixtures::{test_signer, Harness};
use tolom_testkit::memory::InMemoryStore;

async fn paid(h: &Harness) -> Receipt {
    let charge = h.charge("passport-2020", "Сыдыкова Айгүл Бакытовна").await;
    let p = h.pay(&charge.code, "4111 1111 1111 1111", "r").await;
    assert_eq!(p.state(), PaymentState::Succeeded);
    h.tolom.receipt(p.id()).await.expect("receipt")
}

fn by_reference(r: &Receipt, key_id: Option<&str>) -> ReceiptClaim {
    ReceiptClaim::Reference {
        number: r.number.clone(),
        key_id: key_id.map(str::to_string),
        signature: r.signature.clone(),
    }
}

fn by_content(content: String, r: &Receipt) -> ReceiptClaim {
    ReceiptClaim::Content {
        content,
        signature: r.signature.clone(),
    }
}

fn not_genuine(c: &ReceiptCheck) -> Option<&NotGenuine> {
    match c {
        ReceiptCheck::NotGenuine(n) => Some(n),
        ReceiptCheck::Genuine(_) => None,
    }
}

/// Another instance over the same store, signing with `signer` and
/// checking against `ring`.
fn instance(h: &Harness, signer: Ed25519Signer, ring: KeyRing) -> Tolom {
    Tolom::builder()
        .store_with_ops::<InMemoryStore>(h.store.clone())
        .acquirer(Arc::new(FakeAcquirer::new()))
        .clock(h.clock.clone())
        .signer(Arc::new(signer))
        .key_ring(ring)
        .build()
        .expect("tolom")
}

#[tokio::test]
async fn a_forged_payer_name_is_not_genuine_offline_or_online() {
    let (h, _) = Harness::with_fake();
    let r = paid(&h).await;
    let ring = h.tolom.key_ring();
    // Offline: the agency's check of the receipt's fields.
    assert!(ring.verify_receipt(&r).is_ok());
    let mut forged = r.clone();
    forged.payer = "Асанов Айбек Маратович".into();
    assert_eq!(ring.verify_receipt(&forged), Err(NotGenuine::BadSignature));
    // Online, with the forged receipt's content.
    let c = h
        .tolom
        .check_receipt(&by_content(forged.signed_content(), &r))
        .await
        .unwrap();
    assert_eq!(not_genuine(&c), Some(&NotGenuine::BadSignature));
    // The genuine content is genuine, and shows the payer it covers.
    let c = h
        .tolom
        .check_receipt(&by_content(r.signed_content(), &r))
        .await
        .unwrap();
    let g = c.genuine().expect("genuine");
    assert_eq!(g.receipt.payer, "Сыдыкова Айгүл Бакытовна");
    assert_eq!(g.receipt.signed_content(), r.signed_content());
    assert_eq!(g.status_now, None);
}

#[tokio::test]
async fn a_receipt_signed_before_a_key_rotation_verifies_after_it() {
    let (h, _) = Harness::with_fake();
    let before = paid(&h).await;
    let old = test_signer();
    assert_eq!(before.key_id, old.key_id());
    // Rotated: a new key signs, the old one is retired into the ring.
    h.clock.advance(Duration::hours(1));
    let retired = RingKey::new(old.public_key_bytes(), None, Some(h.clock_now())).unwrap();
    let new = Ed25519Signer::from_seed([42; 32]);
    let new_id = new.key_id();
    let rotated = instance(&h, new, KeyRing::new(vec![retired]).unwrap());
    for key in [Some(old.key_id()), None] {
        let c = rotated
            .check_receipt(&by_reference(&before, key.as_deref()))
            .await
            .unwrap();
        let g = c.genuine().unwrap_or_else(|| panic!("not genuine: {c:?}"));
        assert_eq!(g.key.key_id(), old.key_id());
        assert_eq!(g.key.valid_until(), Some(h.clock_now()));
    }
    let c = rotated
        .check_receipt(&by_content(before.signed_content(), &before))
        .await
        .unwrap();
    assert!(c.genuine().is_some(), "{c:?}");
    // The same payment's receipt is now signed with the new key, and both
    // verify.
    let after = rotated.receipt(before.payment_id).await.unwrap();
    assert_eq!(after.key_id, new_id);
    assert_ne!(after.signature, before.signature);
    assert!(rotated
        .check_receipt(&by_reference(&after, Some(&new_id)))
        .await
        .unwrap()
        .genuine()
        .is_some());
    // Without the old key in the ring (what `/verify` did before: only the
    // current key), the old receipt is not genuine.
    let forgetful = instance(&h, Ed25519Signer::from_seed([42; 32]), KeyRing::default());
    let c = forgetful
        .check_receipt(&by_reference(&before, Some(&old.key_id())))
        .await
        .unwrap();
    assert_eq!(not_genuine(&c), Some(&NotGenuine::UnknownKey(old.key_id())));
    // A key retired before the payment was made cannot have signed it.
    let early = RingKey::new(
        old.public_key_bytes(),
        None,
        Some(before.paid_at - Duration::minutes(1)),
    )
    .unwrap();
    let strict = instance(
        &h,
        Ed25519Signer::from_seed([42; 32]),
        KeyRing::new(vec![early]).unwrap(),
    );
    let c = strict
        .check_receipt(&by_reference(&before, Some(&old.key_id())))
        .await
        .unwrap();
    assert!(
        matches!(not_genuine(&c), Some(NotGenuine::KeyRetired { .. })),
        "{c:?}"
    );
}

#[tokio::test]
async fn the_verify_step_fails_for_a_wrong_signature_key_or_number() {
    let (h, _) = Harness::with_fake();
    let r = paid(&h).await;
    let check = |claim: ReceiptClaim| {
        let t = &h.tolom;
        async move { t.check_receipt(&claim).await.unwrap() }
    };
    assert!(check(by_reference(&r, Some(&r.key_id)))
        .await
        .genuine()
        .is_some());
    // One character of the signature changed.
    let mut wrong = r.clone();
    let first = if r.signature.starts_with('A') {
        "B"
    } else {
        "A"
    };
    wrong.signature.replace_range(0..1, first);
    assert_eq!(
        not_genuine(&check(by_reference(&wrong, Some(&r.key_id))).await),
        Some(&NotGenuine::BadSignature)
    );
    assert_eq!(
        not_genuine(&check(by_reference(&wrong, None)).await),
        Some(&NotGenuine::BadSignature)
    );
    // Signed by a stranger's key under our key id.
    let stranger = Ed25519Signer::from_seed([9; 32]);
    let mut impostor = r.clone();
    impostor.signature = {
        let mut x = r.clone();
        tolom_core::ports::sign_receipt(&mut x, &stranger);
        x.signature
    };
    assert_eq!(
        not_genuine(&check(by_reference(&impostor, Some(&r.key_id))).await),
        Some(&NotGenuine::BadSignature)
    );
    assert_eq!(
        not_genuine(&check(by_content(r.signed_content(), &impostor)).await),
        Some(&NotGenuine::BadSignature)
    );
    // A key id the ring does not hold; an unknown number; garbage.
    assert!(matches!(
        not_genuine(&check(by_reference(&r, Some("zzzzzzzz"))).await),
        Some(NotGenuine::UnknownKey(_))
    ));
    let mut unknown = r.clone();
    unknown.number = "20990101-0000000000000000".into();
    assert_eq!(
        not_genuine(&check(by_reference(&unknown, None)).await),
        Some(&NotGenuine::NotFound)
    );
    assert!(matches!(
        not_genuine(&check(by_content("tolom-receipt/2\nnumber=x".into(), &r)).await),
        Some(NotGenuine::Malformed(_))
    ));
    assert!(h
        .tolom
        .verify_receipt(&r.number, "AAAA")
        .await
        .unwrap()
        .is_none());
    assert!(h
        .tolom
        .verify_receipt(&r.number, &r.signature)
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn a_genuine_signature_over_facts_we_never_recorded_is_not_genuine() {
    // A leaked key cannot make /verify vouch for an invented payment.
    let (h, _) = Harness::with_fake();
    let r = paid(&h).await;
    let mut invented = r.clone();
    invented.payer = "Асанов Айбек Маратович".into();
    tolom_core::ports::sign_receipt(&mut invented, &test_signer());
    assert!(h.tolom.key_ring().verify_receipt(&invented).is_ok());
    let c = h
        .tolom
        .check_receipt(&by_content(invented.signed_content(), &invented))
        .await
        .unwrap();
    assert_eq!(not_genuine(&c), Some(&NotGenuine::NotInRecords));
}

#[tokio::test]
async fn a_receipt_printed_before_a_refund_stays_genuine_and_says_what_changed() {
    let (h, _) = Harness::with_fake();
    let before = paid(&h).await;
    assert_eq!(before.status, PaymentState::Succeeded);
    h.clock.advance(Duration::hours(2));
    h.tolom
        .refund(before.payment_id, Some(Money::som(100)), "part", "rf-1")
        .await
        .expect("refund");
    let after = h.tolom.receipt(before.payment_id).await.unwrap();
    assert_eq!(after.status, PaymentState::PartiallyRefunded);
    assert_eq!(after.refunded, Money::som(100));
    assert!(after.refunded_at.is_some());
    assert_ne!(after.signed_content(), before.signed_content());
    for claim in [
        by_reference(&before, Some(&before.key_id)),
        by_content(before.signed_content(), &before),
    ] {
        let c = h.tolom.check_receipt(&claim).await.unwrap();
        let g = c.genuine().unwrap_or_else(|| panic!("{c:?}"));
        assert_eq!(g.receipt.status, PaymentState::Succeeded, "as printed");
        assert_eq!(g.status_now, Some(PaymentState::PartiallyRefunded));
    }
    let c = h
        .tolom
        .check_receipt(&by_reference(&after, None))
        .await
        .unwrap();
    let g = c.genuine().expect("the new receipt");
    assert_eq!(g.receipt.refunded, Money::som(100));
    assert_eq!(g.status_now, None);
    // A printed receipt that claims the refund never happened, signed as
    // the new one was: not genuine.
    let mut forged = after.clone();
    forged.refunded = Money::som(0);
    assert!(h.tolom.key_ring().verify_receipt(&forged).is_err());
}

trait ClockNow {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc>;
}

impl ClockNow for Harness {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        use tolom_core::ports::Clock;
        self.clock.now()
    }
}
