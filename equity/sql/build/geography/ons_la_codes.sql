-- How many ONS -> DfE LA code pairs are stored (none yet: the loader adds them).
select count(*) n from ons_la_code
