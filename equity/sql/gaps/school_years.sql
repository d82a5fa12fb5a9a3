-- The years in which any school has a shown value of one measure.
select distinct start_year from school_result_shown
where key_stage = $ks and measure = $measure and status = 'ok' order by 1
