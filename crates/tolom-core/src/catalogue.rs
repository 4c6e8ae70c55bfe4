//! Services and their tariffs, loaded from data.
//!
//! The catalogue *explains* amounts (what a fee is made of, per urgency); the
//! amount a payer pays always comes from the code's [`crate::charge::Charge`].

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::code::ServiceFamily;
use crate::i18n::LocalizedText;
use crate::money::{Currency, Money, MoneyError};

/// The stable id of a service, e.g. `id-card-2017`.
pub type ServiceId = String;

/// A state service a payment code can be issued for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    /// Stable id.
    pub id: ServiceId,
    /// The code prefix family.
    pub family: ServiceFamily,
    /// The service's name in each language.
    pub name: LocalizedText,
    /// The state agency that provides the service and receives the fee,
    /// in each language (printed on receipts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<LocalizedText>,
    /// The purpose of payment as a receipt states it ("Fee for issuing an
    /// ID card (2017 model)"), in each language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<LocalizedText>,
}

/// One part of a tariff (e.g. "state fee", "production").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TariffComponent {
    /// What the part pays for.
    pub label: LocalizedText,
    /// Its amount in som (decimal string in the data).
    pub amount: Decimal,
}

/// The fee of a service at one urgency level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tariff {
    /// The service.
    pub service: ServiceId,
    /// Stable urgency id, e.g. `12-working-days`.
    pub urgency: String,
    /// The urgency's name in each language.
    pub name: LocalizedText,
    /// Whether the amount is an officially published fee. `false` marks a
    /// placeholder: codes are not issued from it, and a charge that names
    /// it is shown to payers as "fee not yet published" and cannot be paid
    /// ([`Catalogue::fee_published`]). Default `true`.
    #[serde(default = "yes")]
    pub published: bool,
    /// The parts that make up the fee.
    pub components: Vec<TariffComponent>,
}

fn yes() -> bool {
    true
}

impl Tariff {
    /// The sum of the components, in KGS.
    pub fn total(&self) -> Result<Money, MoneyError> {
        self.components
            .iter()
            .try_fold(Money::zero(Currency::KGS), |acc, c| {
                acc.checked_add(Money::new(c.amount, Currency::KGS)?)
            })
    }
}

/// The catalogue could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// The data is not valid JSON of the expected shape.
    #[error("catalogue data: {0}")]
    Parse(#[from] serde_json::Error),
    /// The data is well-formed but inconsistent.
    #[error("catalogue: {0}")]
    Invalid(String),
}

#[derive(Deserialize)]
struct CatalogueData {
    services: Vec<Service>,
    tariffs: Vec<Tariff>,
}

/// Services and tariffs.
///
/// ```
/// use tolom_core::catalogue::Catalogue;
/// let c = Catalogue::kyrgyz_default();
/// assert_eq!(c.services().len(), 5);
/// let fast = c.tariff("id-card-2017", "3-hours").unwrap();
/// assert_eq!(fast.total().unwrap().to_string(), "4140.00 KGS");
/// ```
#[derive(Debug, Clone)]
pub struct Catalogue {
    services: Vec<Service>,
    /// By service, then urgency (looked up by `&str`, without copies).
    tariffs: BTreeMap<ServiceId, BTreeMap<String, Tariff>>,
    order: Vec<(ServiceId, String)>,
}

/// The embedded default data (see `data/catalogue.json`).
pub const DEFAULT_CATALOGUE_JSON: &str = include_str!("../data/catalogue.json");

impl Catalogue {
    /// The embedded default: the five services of the state payment site and
    /// their published fees.
    pub fn kyrgyz_default() -> Catalogue {
        Catalogue::from_json(DEFAULT_CATALOGUE_JSON).unwrap_or_else(|_| Catalogue {
            services: Vec::new(),
            tariffs: BTreeMap::new(),
            order: Vec::new(),
        })
    }

    /// Loads a catalogue from JSON of the same shape as the default.
    pub fn from_json(json: &str) -> Result<Catalogue, CatalogueError> {
        let data: CatalogueData = serde_json::from_str(json)?;
        let mut tariffs: BTreeMap<ServiceId, BTreeMap<String, Tariff>> = BTreeMap::new();
        let mut order = Vec::new();
        for s in &data.services {
            if data.services.iter().filter(|o| o.id == s.id).count() > 1 {
                return Err(CatalogueError::Invalid(format!("service {} twice", s.id)));
            }
        }
        for t in data.tariffs {
            if !data.services.iter().any(|s| s.id == t.service) {
                return Err(CatalogueError::Invalid(format!(
                    "tariff {} for unknown service {}",
                    t.urgency, t.service
                )));
            }
            if t.components.is_empty() {
                return Err(CatalogueError::Invalid(format!(
                    "tariff {} has no parts",
                    t.urgency
                )));
            }
            t.total()
                .map_err(|e| CatalogueError::Invalid(format!("tariff {}: {e}", t.urgency)))?;
            order.push((t.service.clone(), t.urgency.clone()));
            if tariffs
                .entry(t.service.clone())
                .or_default()
                .insert(t.urgency.clone(), t)
                .is_some()
            {
                return Err(CatalogueError::Invalid("duplicate tariff".into()));
            }
        }
        Ok(Catalogue {
            services: data.services,
            tariffs,
            order,
        })
    }

    /// Every service, in catalogue order.
    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// A service by id.
    pub fn service(&self, id: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.id == id)
    }

    /// A tariff by service and urgency.
    pub fn tariff(&self, service: &str, urgency: &str) -> Option<&Tariff> {
        self.tariffs.get(service)?.get(urgency)
    }

    /// Whether the fee a charge names is published: `false` only when
    /// `urgency` names a tariff of `service` that the catalogue marks
    /// `published: false` (a placeholder amount). A charge without a
    /// tariff carries the issuing agency's own amount, and one whose tariff
    /// the catalogue does not know is explained by nothing here: both are
    /// `true`.
    ///
    /// ```
    /// use tolom_core::catalogue::Catalogue;
    /// let c = Catalogue::kyrgyz_default();
    /// assert!(c.fee_published("id-card-2017", Some("3-hours")));
    /// assert!(!c.fee_published("driving-licence-national", Some("standard")));
    /// assert!(c.fee_published("driving-licence-national", None));
    /// ```
    pub fn fee_published(&self, service: &str, urgency: Option<&str>) -> bool {
        urgency
            .and_then(|u| self.tariff(service, u))
            .is_none_or(|t| t.published)
    }

    /// The tariffs marked `published: false`, in catalogue order.
    pub fn unpublished(&self) -> impl Iterator<Item = &Tariff> + '_ {
        self.order
            .iter()
            .filter_map(|(s, u)| self.tariff(s, u))
            .filter(|t| !t.published)
    }

    /// The tariffs of a service, in catalogue order.
    pub fn tariffs_of<'a>(&'a self, service: &'a str) -> impl Iterator<Item = &'a Tariff> + 'a {
        self.order
            .iter()
            .filter(move |(s, _)| s == service)
            .filter_map(|(s, u)| self.tariff(s, u))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_has_published_fees() {
        let c = Catalogue::kyrgyz_default();
        let ids: Vec<_> = c.services().iter().map(|s| s.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "id-card-2017",
                "passport-2020",
                "driving-licence-national",
                "driving-licence-international",
                "meken-card"
            ]
        );
        let totals: Vec<String> = c
            .tariffs_of("id-card-2017")
            .map(|t| t.total().unwrap().to_string())
            .collect();
        assert_eq!(
            totals,
            [
                "510.00 KGS",
                "1300.00 KGS",
                "1640.00 KGS",
                "1865.00 KGS",
                "4140.00 KGS"
            ]
        );
        assert_eq!(
            c.tariff("passport-2020", "18-working-days")
                .unwrap()
                .total()
                .unwrap(),
            Money::som(885)
        );
        assert_eq!(
            c.tariff("meken-card", "in-country")
                .unwrap()
                .total()
                .unwrap(),
            Money::som(11_315)
        );
        assert!(
            !c.tariff("driving-licence-national", "standard")
                .unwrap()
                .published
        );
    }

    #[test]
    fn every_default_service_names_its_agency_and_purpose_in_every_language() {
        for s in Catalogue::kyrgyz_default().services() {
            for text in [&s.agency, &s.purpose] {
                let text = text.as_ref().unwrap_or_else(|| panic!("{}", s.id));
                for lang in crate::i18n::Language::ALL {
                    assert!(!text.get(lang).trim().is_empty(), "{} {lang:?}", s.id);
                }
            }
        }
    }

    #[test]
    fn rejects_inconsistent_data() {
        assert!(Catalogue::from_json("{").is_err());
        let bad = r#"{"services":[],"tariffs":[{"service":"x","urgency":"u","name":{"ky":"a","ru":"b","en":"c"},"components":[{"label":{"ky":"a","ru":"b","en":"c"},"amount":"1"}]}]}"#;
        assert!(matches!(
            Catalogue::from_json(bad),
            Err(CatalogueError::Invalid(_))
        ));
    }
}
