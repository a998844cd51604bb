" .route files are routing policies of routevm (editors/vim/syntax/route.vim)
autocmd BufNewFile,BufRead *.route setfiletype route
