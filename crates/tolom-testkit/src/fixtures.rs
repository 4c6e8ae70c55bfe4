//! Ready-made pieces for tests: a wired [`Tolom`], demo charges, card forms.

use std::sync::Arc;

use chrono::Duration;
use tolom_core::access::Principal;
use tolom_core::card::CardForm;
use tolom_core::charge::Charge;
use tolom_core::code::PaymentCode;
use tolom_core::i18n::Language;
use tolom_core::outbox::Channel;
use tolom_core::payment::Payment;
use tolom_core::ports::Clock;
use tolom_core::ports::{Acquirer, Ed25519Signer, IdGenerator, OpsStore, RandomIds, Store};
use tolom_core::usecases::StartPayment;
use tolom_core::usecases::{Config, IssueCharge, Operator, Tolom};

use crate::clock::ManualClock;
use crate::fake::FakeAcquirer;
use crate::ids::SequentialIds;
use crate::memory::InMemoryStore;
use crate::notifier::RecordingNotifier;

/// A fixed signing key for tests (never use it in production).
pub fn test_signer() -> Ed25519Signer {
    Ed25519Signer::from_seed([7u8; 32])
}

/// A [`Tolom`] on a store (in memory by default, or any adapter), a manual
/// clock, two recording notifiers and a given acquirer, with handles to
/// each: the flow harness every adapter's tests share instead of repeating
/// the payment steps.
pub struct Harness<S: ?Sized = InMemoryStore> {
    /// The use cases (with the operator's, over the same store).
    pub tolom: Tolom,
    /// The store.
    pub store: Arc<S>,
    /// The clock.
    pub clock: Arc<ManualClock>,
    /// The e-mail notifier.
    pub email: Arc<RecordingNotifier>,
    /// The webhook notifier.
    pub webhook: Arc<RecordingNotifier>,
}

impl Harness<InMemoryStore> {
    /// A harness with a [`FakeAcquirer`]; returns the acquirer too.
    pub fn with_fake() -> (Harness, Arc<FakeAcquirer>) {
        let acquirer = Arc::new(FakeAcquirer::new());
        (
            Harness::with_acquirer(acquirer.clone(), Config::default()),
            acquirer,
        )
    }

    /// A harness on a fresh in-memory store with sequential ids, any
    /// acquirer and configuration.
    pub fn with_acquirer(acquirer: Arc<dyn Acquirer>, config: Config) -> Harness {
        Harness::build(
            Arc::new(InMemoryStore::new()),
            acquirer,
            config,
            Arc::new(SequentialIds::new()),
        )
    }
}

impl<S: Store + OpsStore + 'static> Harness<S> {
    /// A harness on any store (an adapter under test), with random ids (a
    /// durable store may be shared by several tests).
    pub fn on(store: Arc<S>, acquirer: Arc<dyn Acquirer>, config: Config) -> Harness<S> {
        Harness::build(store, acquirer, config, Arc::new(RandomIds))
    }

    fn build(
        store: Arc<S>,
        acquirer: Arc<dyn Acquirer>,
        config: Config,
        ids: Arc<dyn IdGenerator>,
    ) -> Harness<S> {
        let clock = Arc::new(ManualClock::fixed());
        let email = Arc::new(RecordingNotifier::new(Channel::Email));
        let webhook = Arc::new(RecordingNotifier::new(Channel::Webhook));
        let tolom = Tolom::builder()
            .store_with_ops(store.clone())
            .acquirer(acquirer)
            .clock(clock.clone())
            .ids(ids)
            .signer(Arc::new(test_signer()))
            .notifier(email.clone())
            .notifier(webhook.clone())
            .config(config)
            .build()
            .unwrap_or_else(|e| panic!("harness: {e}"));
        Harness {
            tolom,
            store,
            clock,
            email,
            webhook,
        }
    }
}

impl<S: ?Sized> Harness<S> {
    /// The operator's use case and a local principal (`cli:test`) to act as.
    pub fn operator(&self) -> (&Operator, Principal) {
        (
            self.tolom
                .operator()
                .unwrap_or_else(|e| panic!("harness operator: {e}")),
            Principal::Local {
                user: "test".into(),
            },
        )
    }

    /// Issues a charge of `service` (its first published tariff) to
    /// `payer`, valid for 30 days. A service whose fees are all unpublished
    /// (the default catalogue's driving licences) gets the charge an
    /// agency issues with its own amount: no tariff, the first tariff's
    /// amount given explicitly.
    pub async fn charge(&self, service: &str, payer: &str) -> Charge {
        let catalogue = &self.tolom.config().catalogue;
        let (urgency, amount) = match catalogue.tariffs_of(service).find(|t| t.published) {
            Some(t) => (Some(t.urgency.clone()), None),
            None => (
                None,
                catalogue
                    .tariffs_of(service)
                    .next()
                    .and_then(|t| t.total().ok()),
            ),
        };
        self.tolom
            .issue_charge(IssueCharge {
                service: service.into(),
                urgency,
                amount,
                payer: payer.into(),
                code: None,
                expires_at: self.clock.now() + Duration::days(30),
                agency_ref: None,
            })
            .await
            .unwrap_or_else(|e| panic!("fixture charge: {e}"))
    }

    /// Starts paying `code` with the agreement in force accepted (panics on
    /// an error: for tests that are about what comes next).
    pub async fn start(&self, code: &PaymentCode, key: &str) -> Payment {
        let terms = self.terms_id().await;
        self.tolom
            .start_payment(StartPayment {
                code: code.as_str(),
                accepted_terms: Some(&terms),
                idempotency_key: key,
                language: Language::Ky,
            })
            .await
            .unwrap_or_else(|e| panic!("start_payment: {e}"))
    }

    /// Starts paying `code` and sends the card `pan` (keys derived from
    /// `key`): the payment as the acquirer left it.
    pub async fn pay(&self, code: &PaymentCode, pan: &str, key: &str) -> Payment {
        let p = self.start(code, &format!("{key}-start")).await;
        self.tolom
            .submit_card(p.id(), &card_form(pan), &format!("{key}-card"))
            .await
            .unwrap_or_else(|e| panic!("submit_card: {e}"))
    }

    /// The id of the agreement edition in force.
    pub async fn terms_id(&self) -> String {
        self.tolom
            .terms_in_force()
            .await
            .map(|t| t.id)
            .unwrap_or_default()
    }
}

/// A valid card form with this PAN (expiry 12/30, CVV 123, Kyrgyz phone).
pub fn card_form(pan: &str) -> CardForm {
    CardForm {
        holder: "AIBEK ASANOV".into(),
        pan: pan.into(),
        expiry: "12/30".into(),
        cvv: "123".into(),
        phone: "+996 555 123 456".into(),
        email: "aibek@example.kg".into(),
    }
}

/// Sample payers for tests, one per service of the default catalogue.
pub const SAMPLE_PAYERS: [(&str, &str); 5] = [
    ("id-card-2017", "Асанов Айбек Маратович"),
    ("passport-2020", "Сыдыкова Айгүл Бакытовна"),
    ("driving-licence-national", "Токтогулов Нурлан Эркинович"),
    ("driving-licence-international", "Жумабаева Чолпон Асановна"),
    ("meken-card", "Ivanova Anna"),
];
