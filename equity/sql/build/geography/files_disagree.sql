-- Per IoD2019 field: the LSOAs for which two files give different values (check "IoD files agree").
-- Every value column of stg_lsoa_wide, long; only fields with a disagreement are listed.
with long as (
    unpivot stg_lsoa_wide on columns(* exclude (lsoa11, source_file)) into name field value v),
differ as (select lsoa11, field from long group by lsoa11, field having min(v) <> max(v))
select field, count(*) n from differ group by field
