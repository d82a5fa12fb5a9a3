-- The IoD2025 loaders' tables (equity.ingest.loaders.iod2025), created if not there yet; the stg_*
-- tables are working tables, dropped before the database is swapped in.
-- stg_lsoa21_wide: one row per 2021 LSOA per sheet; its value columns are iod2025.XLSX_FIELDS, in
-- that order (tests/test_build.py checks they agree).
create table if not exists stg_lsoa21_wide (lsoa21 varchar, source_file varchar, sheet varchar,
    name varchar, lad_code varchar, lad_name varchar,
    imd_rank double, imd_decile double, imd_score double, idaci_rank double, idaci_decile double,
    idaci_score double, idaopi_rank double, idaopi_decile double, idaopi_score double);
create table if not exists lsoa11_lsoa21 (lsoa11 varchar, lsoa11_name varchar, change_code varchar,
    lsoa21 varchar, lsoa21_name varchar, lad22cd varchar, lad22nm varchar, source_file varchar, source_row integer);
create table if not exists lsoa21_ward (lsoa21 varchar, lsoa21_name varchar, ward_code varchar,
    ward_name varchar, lad_code varchar, lad_name varchar, source_file varchar);
create table if not exists lsoa21_boundary (lsoa21 varchar, name varchar, geometry varchar, n_points integer,
    area_km2 double, lat double, lon double, min_lon double, min_lat double, max_lon double, max_lat double,
    source_file varchar);
create table if not exists stg_lsoa21_edge (lsoa21 varchar, part integer, ring integer, x1 double, y1 double,
    x2 double, y2 double);
