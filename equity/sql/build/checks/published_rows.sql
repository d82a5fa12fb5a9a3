-- Published LA and England figures and the areas they cover (check "published LA and England rows").
select count(*) n, count(distinct area_code) a from published_result
