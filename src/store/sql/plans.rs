//! Which listings may reuse one PostgreSQL plan for every call.

use crate::domain::query::{TokenFilter, TokenQuery, TokenSortField};

/// Whether one index of `tokens` serves the listing exactly: equality on
/// its leading columns and then its order (the organization alone with any
/// column order, or the owner, or the client and owner, by creation time),
/// with no other condition. Its index scan then beats every other plan
/// whatever the values (it reads only the page's rows, in order), so a plan
/// made once for unknown values is the plan a call would make for its own.
/// Any other filter can have a different best plan per value (a rare owner
/// sorted by name wants the owner's index and a sort; a common one the name
/// index), so it is planned per call.
pub fn index_exact(q: &TokenQuery) -> bool {
    // Every field named: a new filter field must be considered here.
    let TokenFilter {
        client_id,
        user_id,
        status,
        created_from,
        created_to,
        updated_from,
        updated_to,
        scopes,
        name,
        kind,
    } = &q.filter;
    let keys_only = status.is_none()
        && created_from.is_none()
        && created_to.is_none()
        && updated_from.is_none()
        && updated_to.is_none()
        && scopes.is_empty()
        && name.is_none()
        && kind.is_none();
    keys_only
        && match (client_id, user_id, q.sort.field) {
            (None, None, field) => field != TokenSortField::Status,
            (_, Some(_), TokenSortField::Created) => true,
            _ => false,
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Timestamp;
    use crate::domain::ids::OrgId;
    use crate::domain::model::TokenStatus;
    use crate::domain::query::{Direction, Query, Sort};

    fn query(filter: TokenFilter, field: TokenSortField) -> TokenQuery {
        Query {
            org_id: OrgId::from_trusted("org".into()),
            filter,
            sort: Sort {
                field,
                direction: Direction::Desc,
            },
            now: Timestamp::from_micros(0),
            after: None,
            offset: 0,
            limit: 11,
        }
    }

    #[test]
    fn only_listings_one_index_serves_exactly_are_plan_stable() {
        let owner = || TokenFilter {
            user_id: Some("u".into()),
            ..TokenFilter::default()
        };
        let client = |user: Option<&str>| TokenFilter {
            client_id: Some("c".into()),
            user_id: user.map(Into::into),
            ..TokenFilter::default()
        };
        for field in [
            TokenSortField::Created,
            TokenSortField::Updated,
            TokenSortField::Name,
            TokenSortField::Expires,
            TokenSortField::Id,
        ] {
            assert!(
                index_exact(&query(TokenFilter::default(), field)),
                "{field:?}"
            );
        }
        assert!(!index_exact(&query(
            TokenFilter::default(),
            TokenSortField::Status
        )));
        assert!(index_exact(&query(owner(), TokenSortField::Created)));
        assert!(!index_exact(&query(owner(), TokenSortField::Name)));
        assert!(index_exact(&query(
            client(Some("u")),
            TokenSortField::Created
        )));
        assert!(!index_exact(&query(client(None), TokenSortField::Created)));
        let active = TokenFilter {
            status: Some(TokenStatus::Active),
            ..owner()
        };
        assert!(!index_exact(&query(active, TokenSortField::Created)));
    }
}
