DROP TABLE history_dataset_collection;
DROP TABLE dataset_collection_element;
DROP TABLE dataset_collection;
