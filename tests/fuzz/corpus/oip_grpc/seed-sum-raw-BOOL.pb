
sum*
xBOOL2
total: