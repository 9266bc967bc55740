//! Dataset collections (`list`, `paired`, and nested types such as `list:paired`), their
//! elements and their places in histories (hdcas); `mapped.rs`: the creation of a mapped-over
//! tool run: every job, its outputs and the collections gathering them, in one transaction.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::Dataset;
use crate::db::schema::{
    dataset, dataset_collection, dataset_collection_element, history, history_dataset_collection,
};
use crate::db::{DbConn, DbResult, now};
use crate::{db_run, db_tx};

/// Rows per multi-row `INSERT` (well under the bind limits of both backends).
const CHUNK: usize = 500;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = history_dataset_collection)]
pub struct Hdca {
    pub id: i64,
    pub history_id: i64,
    pub user_id: Option<i64>,
    pub hid: i64,
    pub name: String,
    pub collection_id: i64,
    pub deleted: bool,
    pub visible: bool,
    pub implicit_output_name: Option<String>,
    pub create_time: NaiveDateTime,
    pub update_time: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = history_dataset_collection, treat_none_as_default_value = false)]
struct NewHdcaRow<'a> {
    history_id: i64,
    user_id: Option<i64>,
    hid: i64,
    name: &'a str,
    collection_id: i64,
    deleted: bool,
    visible: bool,
    implicit_output_name: Option<&'a str>,
    create_time: NaiveDateTime,
    update_time: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = dataset_collection)]
pub struct CollectionRow {
    pub id: i64,
    pub collection_type: String,
    pub populated_state: String,
    pub element_count: i64,
    pub create_time: NaiveDateTime,
    pub update_time: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = dataset_collection)]
struct NewCollectionRow<'a> {
    collection_type: &'a str,
    populated_state: &'a str,
    element_count: i64,
    create_time: NaiveDateTime,
    update_time: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = dataset_collection_element)]
pub struct ElementRow {
    pub id: i64,
    pub dataset_collection_id: i64,
    pub element_index: i32,
    pub element_identifier: String,
    pub hda_id: Option<i64>,
    pub child_collection_id: Option<i64>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = dataset_collection_element, treat_none_as_default_value = false)]
struct NewElementRow<'a> {
    dataset_collection_id: i64,
    element_index: i32,
    element_identifier: &'a str,
    hda_id: Option<i64>,
    child_collection_id: Option<i64>,
}

/// A collection to create: its type and its elements in order, each a dataset (a leaf, `L`)
/// or a sub-collection.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCollection<L> {
    pub collection_type: String,
    pub elements: Vec<(String, NewElement<L>)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NewElement<L> {
    Dataset(L),
    Collection(NewCollection<L>),
}

impl<L> NewCollection<L> {
    /// The same structure and identifiers, each leaf replaced by `f(leaf)`.
    pub fn map_leaves<M>(&self, f: &mut impl FnMut(&L) -> M) -> NewCollection<M> {
        NewCollection {
            collection_type: self.collection_type.clone(),
            elements: self
                .elements
                .iter()
                .map(|(name, e)| {
                    let e = match e {
                        NewElement::Dataset(l) => NewElement::Dataset(f(l)),
                        NewElement::Collection(c) => NewElement::Collection(c.map_leaves(f)),
                    };
                    (name.clone(), e)
                })
                .collect(),
        }
    }

    /// The leaves, depth first, in element order.
    pub fn leaves(&self) -> Vec<&L> {
        let mut out = Vec::new();
        self.collect_leaves(&mut out);
        out
    }

    fn collect_leaves<'a>(&'a self, out: &mut Vec<&'a L>) {
        for (_, e) in &self.elements {
            match e {
                NewElement::Dataset(l) => out.push(l),
                NewElement::Collection(c) => c.collect_leaves(out),
            }
        }
    }
}

/// A collection to put in a history.
#[derive(Debug, Clone)]
pub struct NewHdca {
    pub name: String,
    pub implicit_output_name: Option<String>,
    pub collection: NewCollection<i64>,
}

/// A collection read back: its row and its elements, each with its dataset or sub-collection.
#[derive(Debug, Clone)]
pub struct Collection {
    pub row: CollectionRow,
    pub elements: Vec<Element>,
}

#[derive(Debug, Clone)]
pub struct Element {
    pub row: ElementRow,
    pub object: ElementObject,
}

#[derive(Debug, Clone)]
pub enum ElementObject {
    Dataset(Dataset),
    Collection(Collection),
}

impl Collection {
    /// The collection as the tree it was created from, leaves the datasets.
    pub fn tree(&self) -> NewCollection<Dataset> {
        NewCollection {
            collection_type: self.row.collection_type.clone(),
            elements: self
                .elements
                .iter()
                .map(|e| {
                    let el = match &e.object {
                        ElementObject::Dataset(d) => NewElement::Dataset(d.clone()),
                        ElementObject::Collection(c) => NewElement::Collection(c.tree()),
                    };
                    (e.row.element_identifier.clone(), el)
                })
                .collect(),
        }
    }
}

/// An element row to write: (node, index, identifier, dataset id, child node).
type FlatElement<'a> = (usize, i32, &'a str, Option<i64>, Option<usize>);

/// Collections flattened for insertion: the nodes in pre-order and every element row, children
/// named by their node index.
struct Flat<'a> {
    nodes: Vec<(&'a str, i64)>,
    elements: Vec<FlatElement<'a>>,
}

fn flatten<'a>(c: &'a NewCollection<i64>, flat: &mut Flat<'a>) -> usize {
    let me = flat.nodes.len();
    flat.nodes
        .push((c.collection_type.as_str(), c.elements.len() as i64));
    for (i, (name, e)) in c.elements.iter().enumerate() {
        match e {
            NewElement::Dataset(id) => {
                flat.elements
                    .push((me, i as i32, name.as_str(), Some(*id), None));
            }
            NewElement::Collection(child) => {
                let at = flat.elements.len();
                flat.elements
                    .push((me, i as i32, name.as_str(), None, None));
                let child_node = flatten(child, flat);
                flat.elements[at].4 = Some(child_node);
            }
        }
    }
    me
}

/// Writes the collection rows and element rows of `hdcas` (two multi-row statements whatever
/// their shape) and the hdcas with hids `first_hid..`, inside the caller's transaction.
macro_rules! insert_hdcas {
    ($c:ident, $history_id:expr, $user_id:expr, $first_hid:expr, $hdcas:expr, $t:expr) => {{
        let hdcas: &[NewHdca] = $hdcas;
        let t = $t;
        let mut flat = Flat {
            nodes: Vec::new(),
            elements: Vec::new(),
        };
        let roots: Vec<usize> = hdcas
            .iter()
            .map(|h| flatten(&h.collection, &mut flat))
            .collect();
        let mut node_ids: Vec<i64> = Vec::with_capacity(flat.nodes.len());
        for chunk in flat.nodes.chunks(CHUNK) {
            let rows: Vec<NewCollectionRow<'_>> = chunk
                .iter()
                .map(|(ty, n)| NewCollectionRow {
                    collection_type: ty,
                    populated_state: "ok",
                    element_count: *n,
                    create_time: t,
                    update_time: t,
                })
                .collect();
            let mut ids: Vec<i64> = diesel::insert_into(dataset_collection::table)
                .values(&rows)
                .returning(dataset_collection::id)
                .get_results($c)?;
            ids.sort_unstable();
            node_ids.extend(ids);
        }
        for chunk in flat.elements.chunks(CHUNK) {
            let rows: Vec<NewElementRow<'_>> = chunk
                .iter()
                .map(|(node, index, name, hda, child)| NewElementRow {
                    dataset_collection_id: node_ids[*node],
                    element_index: *index,
                    element_identifier: name,
                    hda_id: *hda,
                    child_collection_id: child.map(|n| node_ids[n]),
                })
                .collect();
            diesel::insert_into(dataset_collection_element::table)
                .values(&rows)
                .execute($c)?;
        }
        let rows: Vec<NewHdcaRow<'_>> = hdcas
            .iter()
            .zip(&roots)
            .enumerate()
            .map(|(i, (h, root))| NewHdcaRow {
                history_id: $history_id,
                user_id: $user_id,
                hid: $first_hid + i as i64,
                name: &h.name,
                collection_id: node_ids[*root],
                deleted: false,
                visible: true,
                implicit_output_name: h.implicit_output_name.as_deref(),
                create_time: t,
                update_time: t,
            })
            .collect();
        let mut made: Vec<Hdca> = if rows.is_empty() {
            Vec::new()
        } else {
            diesel::insert_into(history_dataset_collection::table)
                .values(&rows)
                .returning(Hdca::as_returning())
                .get_results($c)?
        };
        made.sort_unstable_by_key(|h| h.id);
        made
    }};
}

// Declared after `insert_hdcas!`, which it uses.
pub(in crate::db::queries) mod mapped;

pub use mapped::{MappedCreated, MappedRun, OutputCollection, create_mapped_run};

/// Puts a new collection in a history, its hid the history's next.
pub fn create_hdca(
    conn: &mut DbConn,
    history_id: i64,
    user_id: Option<i64>,
    new: &NewHdca,
) -> DbResult<Hdca> {
    let t = now();
    db_tx!(conn, |c| {
        let counter: i64 = diesel::update(history::table.find(history_id))
            .set((
                history::hid_counter.eq(history::hid_counter + 1),
                history::update_time.eq(t),
            ))
            .returning(history::hid_counter)
            .get_result(c)?;
        let mut made = insert_hdcas!(
            c,
            history_id,
            user_id,
            counter - 1,
            std::slice::from_ref(new),
            t
        );
        made.pop()
            .ok_or(crate::db::DbError::Query(diesel::result::Error::NotFound))
    })
}

pub fn find_hdca(conn: &mut DbConn, id: i64) -> DbResult<Option<Hdca>> {
    db_run!(conn, |c| {
        Ok(history_dataset_collection::table
            .find(id)
            .select(Hdca::as_select())
            .first(c)
            .optional()?)
    })
}

/// The collections of a history, by hid.
pub fn history_hdcas(conn: &mut DbConn, history_id: i64) -> DbResult<Vec<(Hdca, CollectionRow)>> {
    db_run!(conn, |c| {
        Ok(history_dataset_collection::table
            .inner_join(
                dataset_collection::table
                    .on(dataset_collection::id.eq(history_dataset_collection::collection_id)),
            )
            .filter(history_dataset_collection::history_id.eq(history_id))
            .order(history_dataset_collection::hid)
            .select((Hdca::as_select(), CollectionRow::as_select()))
            .load(c)?)
    })
}

/// A collection with all its elements, sub-collections and datasets (one query per level).
pub fn load_collection(conn: &mut DbConn, id: i64) -> DbResult<Option<Collection>> {
    let mut rows: HashMap<i64, CollectionRow> = HashMap::new();
    let mut elements: HashMap<i64, Vec<ElementRow>> = HashMap::new();
    let mut datasets: HashMap<i64, Dataset> = HashMap::new();
    let mut level = vec![id];
    while !level.is_empty() {
        let (cols, els, ds): (Vec<CollectionRow>, Vec<ElementRow>, Vec<Dataset>) =
            db_run!(conn, |c| {
                let cols: Vec<CollectionRow> = dataset_collection::table
                    .filter(dataset_collection::id.eq_any(&level))
                    .select(CollectionRow::as_select())
                    .load(c)?;
                let els: Vec<ElementRow> = dataset_collection_element::table
                    .filter(dataset_collection_element::dataset_collection_id.eq_any(&level))
                    .order((
                        dataset_collection_element::dataset_collection_id,
                        dataset_collection_element::element_index,
                    ))
                    .select(ElementRow::as_select())
                    .load(c)?;
                let hda_ids: Vec<i64> = els.iter().filter_map(|e| e.hda_id).collect();
                let mut ds: Vec<Dataset> = Vec::new();
                for chunk in hda_ids.chunks(CHUNK) {
                    ds.extend(
                        dataset::table
                            .filter(dataset::id.eq_any(chunk))
                            .select(Dataset::as_select())
                            .load(c)?,
                    );
                }
                Ok::<_, crate::db::DbError>((cols, els, ds))
            })?;
        level = els.iter().filter_map(|e| e.child_collection_id).collect();
        for c in cols {
            rows.insert(c.id, c);
        }
        for e in els {
            elements.entry(e.dataset_collection_id).or_default().push(e);
        }
        for d in ds {
            datasets.insert(d.id, d);
        }
    }
    Ok(assemble(id, &mut rows, &mut elements, &mut datasets, 0))
}

fn assemble(
    id: i64,
    rows: &mut HashMap<i64, CollectionRow>,
    elements: &mut HashMap<i64, Vec<ElementRow>>,
    datasets: &mut HashMap<i64, Dataset>,
    depth: usize,
) -> Option<Collection> {
    let row = rows.remove(&id)?;
    if depth > 16 {
        return None;
    }
    let mut out = Vec::new();
    for e in elements.remove(&id).unwrap_or_default() {
        let object = match (e.hda_id, e.child_collection_id) {
            (Some(d), _) => ElementObject::Dataset(datasets.get(&d)?.clone()),
            (None, Some(child)) => {
                ElementObject::Collection(assemble(child, rows, elements, datasets, depth + 1)?)
            }
            (None, None) => return None,
        };
        out.push(Element { row: e, object });
    }
    Some(Collection { row, elements: out })
}
