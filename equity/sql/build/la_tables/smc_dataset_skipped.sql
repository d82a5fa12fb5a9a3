-- SMC's full data set: rows split by ethnicity or sex (England only), not loaded.
select count(*) n from {table} where chart_type not in ('trend', 'index_trend', 'geography_map')
