-- Values for groups of fewer than 6 pupils, hidden on screen (check "small cohorts hidden").
select count(*) n from school_result where cohort < 6 and value is not null
